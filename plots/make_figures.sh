#!/bin/sh
# plots/make_figures.sh — runs one scale of every sweep in experiments/ and draws every figure.
#
# usage: plots/make_figures.sh [PSGD [SCALE [OUT]]]
#   PSGD   the psgd binary (default build/release/psgd: timings need the optimised build)
#   SCALE  the specs' scale: quick (a 2-core machine, minutes) or full (a many-core server, hours)
#   OUT    where the PNG, PDF and caption (.caption.md) files go (default plots/figures)
# Each experiments/<name>.json is drawn by plots/<name>.py from results/<name>-<SCALE>/, and by
# every plots/<name>_<figure>.py too: further figures of the same runs (spec names have no `_`,
# so <name>_ never matches another spec's script).
# Sweeps resume: rerunning after an interruption only runs what is missing; results of another
# build of psgd are redone (docs/sweeps.md, "Results and builds"), so the figures are this binary's.
set -eu
PSGD=${1:-build/release/psgd}
SCALE=${2:-quick}
OUT=${3:-plots/figures}
PYTHON=${PYTHON:-/usr/bin/python3}
for spec in experiments/*.json; do
  name=$(basename "$spec" .json)
  "$PSGD" sweep "$spec" --scale "$SCALE"
  for script in "plots/$name.py" plots/"$name"_*.py; do
    [ -e "$script" ] || continue  # the glob matched nothing
    "$PYTHON" "$script" --results "results/$name-$SCALE" --out "$OUT"
  done
done
# Across the studies: hardware against statistical efficiency, one panel per sweep of this scale.
"$PYTHON" plots/efficiency.py --results results/*-"$SCALE" --out "$OUT"
