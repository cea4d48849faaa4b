#!/usr/bin/env bash
# The interface's gettext catalogue (README.md: "Translations").
#   bash scripts/translations.sh extract [FILE]  every marked string into FILE (default translations/messages.pot)
#   bash scripts/translations.sh update          extract, then merge new and changed strings into each .po
#   bash scripts/translations.sh compile         the .po files into the .mo files the program reads (committed)
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${PYBABEL:-}" ]; then  # the project's virtualenv (scripts/test.sh makes it), else one on PATH
  PYBABEL=.venv/bin/pybabel
  [ -x "$PYBABEL" ] || PYBABEL=pybabel
fi
POT=translations/messages.pot

extract() {
  # _ / gettext / ngettext are Babel's defaults; _l and lazy_gettext mark text read later, N_ marks text
  # translated elsewhere (marketplace/messages.py).
  "$PYBABEL" -q extract -F babel.cfg -k _l -k lazy_gettext -k N_ --no-location --sort-output \
    --project "Computing power marketplace" -o "$1" . >/dev/null
}

case "${1:-}" in
  extract) extract "${2:-$POT}" ;;
  update)
    extract "$POT"
    "$PYBABEL" -q update -i "$POT" -d translations --no-fuzzy-matching --ignore-obsolete -w 100
    rm -f "$POT"
    ;;
  compile) "$PYBABEL" -q compile -d translations --statistics ;;
  *) echo "usage: $0 extract [FILE] | update | compile" >&2; exit 2 ;;
esac
