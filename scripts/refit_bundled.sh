#!/usr/bin/env bash
# Bundle a distilled generator and refit everything tied to its W space, in order:
#   1. float16 copy of the export as aufx/weights/synthfacs128.pt (refused if an 8-bit value moves > 1 level),
#   2. global editor on 60,000 faces: half labelled by their latents' true AUs, half moved off the mapping's image and labelled by the analyzer (aufx/weights/synthfacs128_editor.pt),
#   3. region catalog (aufx/weights/synthfacs128_regions.{json,npz}),
#   4. GAN Local Editing catalog (baselines/weights/gan-local-editing.pt),
#   5. quality against SynthFACS and the teacher (aufx/weights/synthfacs128.quality.json, sample grid).
# Usage: bash scripts/refit_bundled.sh [EXPORT] [QUALITY_N]
#   EXPORT     the distillation export (default ~/.cache/aufx/distill128/synthfacs128.pt)
#   QUALITY_N  faces per set of `aufx model quality` (default 2000)
set -euo pipefail
cd "$(dirname "$0")/.."
export_file="${1:-$HOME/.cache/aufx/distill128/synthfacs128.pt}"
quality_n="${2:-2000}"
aufx=".venv/bin/aufx"
py=".venv/bin/python"
step() { printf '\n== %s (%s UTC)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "float16 bundle"
$aufx model half "$export_file" aufx/weights/synthfacs128.pt --faces 256
cp "${export_file%.pt}.md" aufx/weights/synthfacs128.md

step "global editor"
$aufx train editor --model synthfacs128 --n 60000 --off-manifold 0.5 --report docs/editor_r2.csv

step "region catalog"
$aufx train regions --model synthfacs128

step "GAN Local Editing catalog"
$py -c "
from baselines.gan_local_editing import GanLocalEditing
gle = GanLocalEditing().train()
gle.save('baselines/weights/gan-local-editing.pt')
print('annotations', gle.annotations)
"

step "quality"
$aufx model quality synthfacs128 --n "$quality_n" --json aufx/weights/synthfacs128.quality.json \
    --grid docs/img/synthfacs128_samples.png --out quality/synthfacs128
step "done"
