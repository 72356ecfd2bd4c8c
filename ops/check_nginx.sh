#!/usr/bin/env bash
# Validate ops/nginx.conf with a real nginx: `nginx -t` on the config as ops/render_nginx.py
# renders it for this machine (the documented step: upstream 127.0.0.1:8000, since nginx -t
# resolves host names and "app" exists only in compose; certificates and logs in a temporary
# directory, with a throwaway self-signed certificate). tests/test_nginx.py goes further: it
# runs the rendered config in front of two gunicorn instances.
#
# Installs nothing. Without nginx or openssl it says so and exits 0, except in CI (CI=true),
# where a check that cannot run is a failure (exit 1). Install them with:
#   apt-get install -y nginx openssl
#
# Usage: ops/check_nginx.sh [path/to/nginx.conf]      (default: ops/nginx.conf)
# NGINX and PYTHON (default python3) name the binaries to use.
set -euo pipefail
CI="${CI:-}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="${1:-$here/nginx.conf}"
python_bin="${PYTHON:-python3}"

missing() {  # missing <message>: skipped on a workstation, a failure in CI
    if [[ "${CI,,}" =~ ^(true|1|yes)$ ]]; then # as tests/conftest.py reads CI
        echo "check_nginx: $1; required in CI (apt-get install -y nginx openssl)" >&2
        exit 1
    fi
    echo "check_nginx: $1; skipped (apt-get install -y nginx openssl)"
    exit 0
}

nginx_bin="${NGINX:-$(command -v nginx || true)}"
if [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]]; then
    nginx_bin=/usr/sbin/nginx # /usr/sbin is often not on a non-root PATH
fi
[[ -n "$nginx_bin" ]] || missing "nginx is not installed"
command -v openssl >/dev/null 2>&1 || missing "openssl is not installed (needed for a test certificate)"
if [[ ! -f "$conf" ]]; then
    echo "check_nginx: $conf not found" >&2
    exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/certs"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
    -keyout "$tmp/certs/privkey.pem" -out "$tmp/certs/fullchain.pem" >/dev/null 2>&1

main_conf="$("$python_bin" "$here/render_nginx.py" --conf "$conf" --out "$tmp/nginx" \
    --certs-dir "$tmp/certs" --upstream 127.0.0.1:8000)"

echo "check_nginx: $("$nginx_bin" -v 2>&1) testing $conf"
"$nginx_bin" -t -p "$tmp/nginx/" -e "$tmp/nginx/logs/error.log" -c "$main_conf"
echo "check_nginx: OK"
