#!/usr/bin/env bash
# Set up and run one marketplace node on SQLite with the demo catalogue.
# PORT (default 5000) and any node setting (NODE_CODE, NODE_ROLE, ...) may be given in the environment.
set -euo pipefail
cd "$(dirname "$0")/.."

PORT="${PORT:-5000}"
export PUBLIC_URL="${PUBLIC_URL:-http://127.0.0.1:$PORT}"

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt

flask() { .venv/bin/flask --app app "$@"; }
flask db upgrade
flask keys init --if-missing
flask demo-data

echo
echo "Marketplace node ${NODE_CODE:-R11} is running at $PUBLIC_URL  (API docs: $PUBLIC_URL/api/docs; Ctrl-C stops it)"
echo
exec .venv/bin/gunicorn -c gunicorn.conf.py --bind "127.0.0.1:$PORT" --workers 2 app:app
