#!/bin/sh
# plots/draw_examples.sh — redraws every committed figure from the committed example results.
#
# usage: plots/draw_examples.sh [OUT]   (default plots/figures; `make figures-examples`)
# Each results/examples/<name>-quick/ is drawn by plots/<name>.py and every plots/<name>_*.py (as
# plots/make_figures.sh does after running the sweeps), results/nightly/ by plots/nightly.py and
# results/nightly/ab/ by plots/nightly_ab.py.
# The schemes figure uses --accuracy 0.80, which every example run reaches in its two passes (the
# study's 85% only a few snapshots do; docs/studies.md, "The other schemes' studies").
set -eu
OUT=${1:-plots/figures}
PYTHON=${PYTHON:-/usr/bin/python3}
for folder in results/examples/*-quick; do
  name=$(basename "$folder" -quick)
  extra=""
  [ "$name" = schemes ] && extra="--accuracy 0.80"
  for script in "plots/$name.py" plots/"$name"_*.py; do
    [ -e "$script" ] || continue  # the glob matched nothing
    # shellcheck disable=SC2086  # extra is empty or two words
    "$PYTHON" "$script" --results "$folder" --out "$OUT" $extra >/dev/null
  done
done
# Across the studies: one panel per example sweep (plots/efficiency.py).
"$PYTHON" plots/efficiency.py --results results/examples/*-quick --out "$OUT" >/dev/null
"$PYTHON" plots/nightly.py --out "$OUT" >/dev/null
"$PYTHON" plots/nightly_ab.py --out "$OUT" >/dev/null
ls "$OUT"
