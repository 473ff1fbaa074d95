#!/usr/bin/env bash
# Redraw the documentation figures that show the bundled methods' stimuli, after a bundle changed
# (a baseline exported by `aufx train <method> --export`, a refit generator):
#   docs/img/demo_contact_sheet.png, demo_comparison.png, demo_report.png  (`aufx demo`)
#   docs/img/study_contact_sheet.png                                     (examples/study.toml)
# Usage: bash scripts/refresh_demo_figures.sh [WORK_DIR]   (WORK_DIR default: a temporary folder)
# Needs the set-up of `make venv` and a chromium (/usr/bin/chromium, from `make test-deps`).
set -euo pipefail
cd "$(dirname "$0")/.."
work="${1:-$(mktemp -d)}"
aufx=".venv/bin/aufx"
py=".venv/bin/python"
chromium="${CHROMIUM:-/usr/bin/chromium}"
step() { printf '\n== %s (%s UTC)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "demo -> $work/demo"
$aufx demo --out "$work/demo"
cp "$work/demo/stimuli/contact_sheet.png" docs/img/demo_contact_sheet.png
cp "$work/demo/stimuli/comparison.png" docs/img/demo_comparison.png

step "demo report screenshot"
report="$work/demo/report/report.html"
[ -f "$report" ] || { echo "no $report: the demo wrote no report" >&2; exit 1; }
$py -c "
from pathlib import Path
from analysis.render_docs import render
render(Path('$report'), Path('docs/img/demo_report.png'), '$chromium')"

step "study stimuli -> $work/study"
$aufx stimuli examples/study.toml --out "$work/study"
cp "$work/study/contact_sheet.png" docs/img/study_contact_sheet.png

step "done: docs/img/{demo_contact_sheet,demo_comparison,demo_report,study_contact_sheet}.png"
