"""Operating sessions: ``flask sessions prune`` and the ``JWT_REFRESH_TOKEN_EXPIRES`` setting."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from app.auth.sessions import prune_sessions
from app.clock import utcnow
from app.extensions import db
from app.models import AuthSession, User
from config import ConfigError, get_config
from tests.conftest import auth_header, register
from tests.test_migrations import db_command, flask, output

DAY = timedelta(days=1)


def add_sessions(app, **ages):
    """Sessions of one user named after their state: ``expired_40=…`` expired 40 days ago,
    ``revoked_40`` was revoked 40 days ago, ``live`` expires in 10 days."""
    now = utcnow()
    with app.app_context():
        user = User(username="pruned", email="pruned@example.com", password_hash="!")
        db.session.add(user)
        db.session.flush()
        rows = []
        for name, days in ages.items():
            state = name.split("_")[0]
            rows.append(
                {
                    "id": name,
                    "user_id": user.id,
                    "refresh_id": secrets.token_urlsafe(16),
                    "created_at": now - 60 * DAY,
                    "expires_at": now - days * DAY if state == "expired" else now + 10 * DAY,
                    "revoked_at": now - days * DAY if state == "revoked" else None,
                    "revoked_reason": "logout" if state == "revoked" else None,
                }
            )
        db.session.execute(insert(AuthSession), rows)
        db.session.commit()


def remaining(app):
    with app.app_context():
        return sorted(db.session.scalars(select(AuthSession.id)).all())


def prune(app, *args):
    return app.test_cli_runner().invoke(args=["sessions", "prune", *args])


# --- flask sessions prune ------------------------------------------------------------------------


def test_prune_deletes_sessions_that_ended_more_than_n_days_ago(app):
    add_sessions(app, expired_40=40, revoked_40=40, expired_5=5, revoked_5=5, live=0)

    result = prune(app, "--older-than-days", "30")

    assert result.exit_code == 0, result.output
    assert remaining(app) == ["expired_5", "live", "revoked_5"]
    assert "deleted 2 session(s)" in result.output


def test_prune_defaults_to_30_days(app):
    add_sessions(app, expired_31=31, expired_29=29)

    assert prune(app).exit_code == 0

    assert remaining(app) == ["expired_29"]


def test_prune_with_zero_days_deletes_every_ended_session_but_no_live_one(app):
    add_sessions(app, expired_1=1, revoked_1=1, live=0)

    assert prune(app, "--older-than-days", "0").exit_code == 0

    assert remaining(app) == ["live"]


def test_prune_never_deletes_a_session_in_use(app, client):
    user = register(client)

    assert prune(app, "--older-than-days", "0").exit_code == 0

    assert client.get("/api/user", headers=auth_header(user["token"])).status_code == 200


def test_prune_refuses_a_negative_number_of_days(app):
    result = prune(app, "--older-than-days", "-1")

    assert result.exit_code == 2
    assert "-1" in result.output


def test_prune_works_through_many_batches(app):
    add_sessions(app, **{f"expired_{n}": 40 + n for n in range(7)}, live=0)

    with app.app_context():
        deleted = prune_sessions(30 * DAY, batch_size=2)
        left = db.session.scalar(select(func.count()).select_from(AuthSession))

    assert (deleted, left) == (7, 1)


def test_prune_runs_as_an_operator_command_on_a_migrated_database(tmp_path):
    url = f"sqlite:///{tmp_path}/ops.db"
    assert db_command(url, "upgrade").returncode == 0

    result = flask("sessions", "prune", "--older-than-days", "7", DATABASE_URL=url)

    assert result.returncode == 0, output(result)
    assert "deleted 0 session(s)" in result.stdout


# --- JWT_REFRESH_TOKEN_EXPIRES -------------------------------------------------------------------


def test_refresh_token_lifetime_defaults_to_30_days():
    assert get_config("development", environ={}).JWT_REFRESH_TOKEN_EXPIRES == 30 * DAY


def test_refresh_token_lifetime_is_read_from_the_environment():
    config = get_config("development", environ={"JWT_REFRESH_TOKEN_EXPIRES": "86400"})

    assert config.JWT_REFRESH_TOKEN_EXPIRES == DAY


@pytest.mark.parametrize("raw", ["a month", "1.5", "0", "-60"])
def test_refresh_token_lifetime_that_is_not_a_positive_integer_is_a_config_error(raw):
    with pytest.raises(ConfigError, match="JWT_REFRESH_TOKEN_EXPIRES"):
        get_config("development", environ={"JWT_REFRESH_TOKEN_EXPIRES": raw})


def test_refresh_token_lifetime_shorter_than_the_access_tokens_is_a_config_error():
    environ = {"JWT_ACCESS_TOKEN_EXPIRES": "3600", "JWT_REFRESH_TOKEN_EXPIRES": "600"}

    with pytest.raises(ConfigError, match="JWT_REFRESH_TOKEN_EXPIRES"):
        get_config("development", environ=environ)
