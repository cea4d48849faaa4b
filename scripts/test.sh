#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite: lint, unit, API, pages, browser.
# With TEST_DATABASE_URL=postgresql://... every database test runs on PostgreSQL as well as SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/pip install --quiet --disable-pip-version-check -r requirements-dev.txt

# The browser tests drive Debian's Chromium (Playwright cannot download browsers here); Chinese pages need a
# CJK font to be screenshotted legibly.
if [ ! -x /usr/bin/chromium ] || ! fc-list :lang=zh 2>/dev/null | grep -q .; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  else
    sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
  fi
fi

.venv/bin/ruff check .
.venv/bin/pytest "$@"
