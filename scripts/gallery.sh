#!/usr/bin/env bash
# Regenerates the README gallery (docs/gallery/*.png) from the studies in data/examples/:
# runs each one (GPU when present; ~2 min on 2 CPU cores), then `langevin plot`.
# Usage: scripts/gallery.sh [BUILD_DIR]   (default: build; a relative BUILD_DIR is from the
# current folder; run scripts/test.sh first)
set -euo pipefail
usage="usage: scripts/gallery.sh [BUILD_DIR]   (default: build in the repository)"
case ${1:-} in
    -h|--help) echo "$usage"; exit 0 ;;
    -*) echo "$usage" >&2; exit 2 ;;
esac
(($# <= 1)) || { echo "$usage" >&2; exit 2; }
# BUILD_DIR is the caller's path: make it absolute before the cd below.
build=${1:-$(dirname "$0")/../build}
[ -d "$build" ] || { echo "error: no build folder $build (run scripts/test.sh first)" >&2; exit 1; }
build=$(CDPATH='' cd -- "$build" && pwd)
cd "$(dirname "$0")/.."
langevin=$build/langevin
[ -x "$langevin" ] || { echo "error: no $langevin: build first (scripts/test.sh)" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
run() { # name example [--set ...]
    local name=$1 example=$2
    shift 2
    "$langevin" run "data/examples/$example.toml" --quiet -o "$work/$name.h5" "$@" >/dev/null
}
run double_well double_well
run muller_brown muller_brown
run brownian brownian
run kramers kramers
run anneal_double_well anneal_double_well
run quench anneal_double_well --set temperature.kind=geometric --set temperature.T0=1.4427 \
    --set temperature.T1=0.05 --set temperature.steps=200
run rastrigin_anneal rastrigin_anneal
run sgd sgd_sine
run gd sgd_sine --set integrator.batch=200
run cooled_sgd sgd_sine --set integrator.lr_schedule=geometric --set integrator.lr_final=0.01
plot() { "$langevin" plot "$@" --out "$work/figs" --dpi 75 >/dev/null; }
plot "$work/double_well.h5"
plot "$work/muller_brown.h5"
plot "$work/brownian.h5"
plot "$work/kramers.h5"
plot "$work/anneal_double_well.h5" "$work/quench.h5"
plot "$work/rastrigin_anneal.h5"
plot "$work/gd.h5" "$work/sgd.h5" "$work/cooled_sgd.h5"
mkdir -p docs/gallery
for f in double_well_histogram double_well_convergence muller_brown_histogram brownian_motion \
         kramers_first_passage anneal_double_well_vs_quench_annealing \
         anneal_double_well_convergence rastrigin_anneal_annealing sgd_histogram \
         gd_vs_sgd_vs_cooled_sgd_annealing; do
    cp "$work/figs/$f.png" docs/gallery/
done
ls -la docs/gallery
