# The two set-up commands (see README): `make run` and `make test`. Everything lives in .venv.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

# requirements*.txt list the direct dependencies; requirements*.lock pin every package they pull
# in, with hashes, and are what gets installed (`make lock` after editing a .txt).
LOCK_FLAGS := --quiet --universal --generate-hashes --python-version 3.11 \
	--custom-compile-command "make lock"

.PHONY: run test lint format lock migrate check-migrations clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' \
		|| { echo "Python 3.11+ is required (found $$($(PYTHON) --version 2>&1))"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.runtime-installed: requirements.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	@touch $@

$(VENV)/.dev-installed: requirements.lock requirements-dev.lock | $(BIN)/python
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	@touch $@ $(VENV)/.runtime-installed

## Install, migrate the embedded SQLite database (instance/) and serve on http://127.0.0.1:5000
run: $(VENV)/.runtime-installed
	$(BIN)/flask --app wsgi db upgrade
	BIND=$${BIND:-127.0.0.1:5000} $(BIN)/gunicorn -c ops/gunicorn.conf.py wsgi:app

## Install the dev tools and run the whole test suite with the coverage floor
test: $(VENV)/.dev-installed
	$(BIN)/pytest --cov=app --cov-report=term-missing:skip-covered --cov-fail-under=90 $(PYTEST_ARGS)

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## Pin every transitive dependency, with hashes, from requirements*.txt (needs PyPI)
lock: $(VENV)/.dev-installed
	$(BIN)/uv pip compile $(LOCK_FLAGS) requirements.txt -o requirements.lock
	$(BIN)/uv pip compile $(LOCK_FLAGS) requirements-dev.txt -c requirements.lock \
		-o requirements-dev.lock

migrate: $(VENV)/.runtime-installed
	$(BIN)/flask --app wsgi db upgrade

## Apply every migration to DATABASE_URL and check the models match them
check-migrations: $(VENV)/.runtime-installed
	$(BIN)/flask --app wsgi db upgrade
	$(BIN)/flask --app wsgi db check

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .coverage htmlcov
