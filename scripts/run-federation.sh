#!/usr/bin/env bash
# Set up and run the whole federation on 127.0.0.1 (SQLite): N0, R11, R44 and IJ01, registered,
# with demo listings synced. PORT (default 5000) is national's port; the others follow it.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements.txt
exec .venv/bin/python scripts/federation.py
