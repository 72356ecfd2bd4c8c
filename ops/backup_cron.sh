#!/usr/bin/env bash
# One scheduled backup run: create a backup, verify it by restoring it into a scratch database,
# then prune old backups. Prints exactly one JSON line on stdout (outcome, failed step, backup
# name, duration, error) and exits with the failed step's status (0 when all three succeeded),
# so cron, a systemd timer or a Kubernetes CronJob can alert on it. The commands' own logs go
# to stderr. Configuration is the app's environment (DATABASE_URL, BACKUP_DIR or
# BACKUP_S3_BUCKET, BACKUP_KEEP_*); PYTHON is the interpreter that has the app's packages
# (default: python3 on PATH, as in the image; e.g. PYTHON=.venv/bin/python on a host).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

PYTHON=${PYTHON:-python3}
started=$(date +%s.%N)
errors=$(mktemp) || exit 1
trap 'rm -f "$errors"' EXIT

backup() {  # flask backup "$@"; stderr is passed on and kept to report the error line
  "$PYTHON" -m flask --app wsgi backup "$@" 2> >(tee -a "$errors" >&2)
}

report() {  # report <outcome> <step> <exit status>
  "$PYTHON" - "$1" "$2" "$3" "${name:-}" "$started" "$(date +%s.%N)" "$errors" <<'PY'
import json, sys
from datetime import datetime, timezone
outcome, step, status, name, started, ended, errors = sys.argv[1:]
lines = [l[len("error: "):] for l in open(errors, encoding="utf-8", errors="replace") if l.startswith("error: ")]
print(json.dumps({
    "time": datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z"),
    "event": "backup_run",
    "outcome": outcome,
    "failed_step": step or None,
    "backup": name or None,
    "duration_s": round(float(ended) - float(started), 3),
    "exit_status": int(status),
    "error": lines[-1].strip() if lines else None,
}))
PY
}

fail() {  # fail <step> <status>: report and exit with the step's status (never 0)
  local status=$2
  [ "$status" -eq 0 ] && status=1
  report failed "$1" "$status"
  exit "$status"
}

name=$(backup create | tail -n 1)
status=$?  # pipefail: create's status, not tail's
if [ "$status" -ne 0 ] || [ -z "$name" ]; then name=""; fail create "$status"; fi
backup verify "$name" >/dev/null || fail verify $?
backup prune >/dev/null || fail prune $?
report ok "" 0
