#!/usr/bin/env bash
# Starts the Celery worker (with beat) in the background and the web server in the
# foreground; Ctrl-C stops both. Embedded defaults: SQLite + filesystem broker.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
PORT=${PORT:-8000}
# Same place the settings use (RELEASEMGR_VAR_DIR, default ./var).
VAR=${RELEASEMGR_VAR_DIR:-var}
mkdir -p "$VAR/log"

"$PY" -m celery -A releasemgr worker -B --loglevel=INFO --concurrency=1 \
  --schedule "$VAR/celerybeat-schedule" >"$VAR/log/celery.log" 2>&1 &
CELERY_PID=$!
trap 'kill $CELERY_PID 2>/dev/null || true; wait $CELERY_PID 2>/dev/null || true' EXIT INT TERM

broker=${REDIS_URL:-filesystem (${CELERY_BROKER_DIR:-$VAR/broker})}
db=${DATABASE_URL:-SQLite ($VAR/releasemgr.sqlite3)}
cat <<MSG

  Release manager is starting at  http://127.0.0.1:${PORT}/
  API docs: http://127.0.0.1:${PORT}/api/docs/   schema: http://127.0.0.1:${PORT}/api/schema/
  Database: ${db}   Broker: ${broker}   Worker log: $VAR/log/celery.log

  Demo logins (password: demo-password):
    release_manager  cab_member  cab_member2  developer  deployer
    compliance_officer  product_owner  auditor  admin (superuser)
  Pipeline token:  .venv/bin/python manage.py issue_token pipeline --name ci

MSG
"$PY" manage.py runserver "127.0.0.1:${PORT}" --noreload
