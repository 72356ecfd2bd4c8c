#!/usr/bin/env bash
# Validate ops/nginx.conf with a real nginx: `nginx -t` on a temporary copy, wrapped in the
# events{} and http{} blocks it expects, with a throwaway self-signed certificate.
#
# Installs nothing. Without nginx (or openssl) it says so and exits 0, so it is safe to call
# from CI on any machine. Install the tools with: apt-get install -y nginx-light openssl
#
# Usage: ops/check_nginx.sh [path/to/nginx.conf]      (default: ops/nginx.conf)
# The copy differs from the file only where the test machine must differ: the upstream server
# becomes 127.0.0.1:8000 (nginx -t resolves host names, and "app" exists only in compose),
# and the certificate and log directories point into the temporary directory.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
conf="${1:-$here/nginx.conf}"

nginx_bin="${NGINX:-$(command -v nginx || true)}"
if [[ -z "$nginx_bin" && -x /usr/sbin/nginx ]]; then
    nginx_bin=/usr/sbin/nginx # /usr/sbin is often not on a non-root PATH
fi
if [[ -z "$nginx_bin" ]]; then
    echo "check_nginx: nginx is not installed; skipped (apt-get install -y nginx-light)"
    exit 0
fi
if ! command -v openssl >/dev/null 2>&1; then
    echo "check_nginx: openssl is not installed; skipped (needed for a test certificate)"
    exit 0
fi
if [[ ! -f "$conf" ]]; then
    echo "check_nginx: $conf not found" >&2
    exit 2
fi

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/certs" "$tmp/logs" "$tmp/temp"

openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj "/CN=localhost" \
    -keyout "$tmp/certs/privkey.pem" -out "$tmp/certs/fullchain.pem" >/dev/null 2>&1

sed -e "/^upstream /,/^}/ s#^\([[:space:]]*server[[:space:]]\{1,\}\)[^;[:space:]]\{1,\}#\1127.0.0.1:8000#" \
    -e "s#/etc/nginx/certs/#$tmp/certs/#g" \
    -e "s#/var/log/nginx/#$tmp/logs/#g" \
    "$conf" >"$tmp/conduit.conf"

cat >"$tmp/nginx.conf" <<EOF
worker_processes 1;
pid $tmp/nginx.pid;
error_log $tmp/logs/error.log;
events { worker_connections 64; }
http {
    default_type application/octet-stream;
    access_log $tmp/logs/access.log;
    client_body_temp_path $tmp/temp/body;
    proxy_temp_path $tmp/temp/proxy;
    fastcgi_temp_path $tmp/temp/fastcgi;
    uwsgi_temp_path $tmp/temp/uwsgi;
    scgi_temp_path $tmp/temp/scgi;
    include $tmp/conduit.conf;
}
EOF

echo "check_nginx: $("$nginx_bin" -v 2>&1) testing $conf"
"$nginx_bin" -t -p "$tmp" -e "$tmp/logs/error.log" -c "$tmp/nginx.conf"
echo "check_nginx: OK"
