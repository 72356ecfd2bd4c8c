#!/usr/bin/env bash
# Validate docker-compose.yml without a Docker engine, with whatever of these is installed:
#   - `docker compose` (v2 plugin) or `docker-compose` (v1, Debian: apt-get install docker-compose):
#     `config -q` with dummy values for the required variables, which checks interpolation,
#     the file format and the references between services, networks and volumes; then once
#     without each of them, which must fail (proof that no secret has a default);
#   - check-jsonschema (pip install check-jsonschema): the file against the Compose Specification
#     schema.
# Installs nothing; with neither tool it says so and exits 0, or 1 when CI=true (.ci/run installs
# docker-compose and has check-jsonschema in the project's .venv, so there it never skips).
#
# Usage: ops/check_compose.sh [path/to/docker-compose.yml]
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
file="${1:-$here/../docker-compose.yml}"
required_vars=(POSTGRES_PASSWORD SECRET_KEY JWT_SECRET_KEY NGINX_CERTS_DIR)
checked=0

compose=()
if command -v docker >/dev/null 2>&1 && docker compose version >/dev/null 2>&1; then
    compose=(docker compose)
elif command -v docker-compose >/dev/null 2>&1; then
    compose=(docker-compose)
fi

if ((${#compose[@]})); then
    echo "check_compose: $("${compose[@]}" version 2>/dev/null | head -n 1)"
    dummies=()
    for name in "${required_vars[@]}"; do
        case "$name" in
            *_DIR) dummies+=("$name=/nonexistent/$name") ;; # a path, or it reads as a volume name
            *) dummies+=("$name=dummy-$name") ;;
        esac
    done
    # An empty env file: a developer's .env must not decide the result.
    tmp="$(mktemp)"
    trap 'rm -f "$tmp"' EXIT
    env "${dummies[@]}" "${compose[@]}" --env-file "$tmp" -f "$file" config -q
    echo "check_compose: config -q OK"
    # Each required variable on its own: without it the file must refuse to render.
    for name in "${required_vars[@]}"; do
        others=()
        for assignment in "${dummies[@]}"; do
            [[ "$assignment" == "$name="* ]] || others+=("$assignment")
        done
        if env -u "$name" "${others[@]}" \
            "${compose[@]}" --env-file "$tmp" -f "$file" config -q >/dev/null 2>&1; then
            echo "check_compose: FAILED: config renders without $name; it must be required" >&2
            exit 1
        fi
    done
    echo "check_compose: refuses to render without any one of ${required_vars[*]}: OK"
    checked=1
fi

jsonschema="$(command -v check-jsonschema || true)"
if [[ -z "$jsonschema" && -x "$here/../.venv/bin/check-jsonschema" ]]; then
    jsonschema="$here/../.venv/bin/check-jsonschema" # requirements-dev.txt
fi
if [[ -n "$jsonschema" ]]; then
    "$jsonschema" --builtin-schema vendor.compose-spec "$file"
    checked=1
fi

if ((!checked)); then
    echo "check_compose: neither docker compose, docker-compose nor check-jsonschema is" \
        "installed; skipped"
    [[ "${CI:-}" != "true" ]] || exit 1
fi
exit 0
