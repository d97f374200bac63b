#!/usr/bin/env bash
# The GPU check, in ONE call on a lent H100/H200: build with CUDA for sm_90, run every test with
# LANGEVIN_REQUIRE_CUDA=1 (CUDA tests fail rather than skip), run the benchmarks, print a table.
# toml++ is not installed there: carry its headers in .toml/ (see README, "GPU check").
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check-out}
mkdir -p "$out"
build=build-gpu
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$out/gpu.txt"
toml_args=()
[ -d .toml/toml++ ] && toml_args=(-DLANGEVIN_TOMLPP_INCLUDE="$PWD/.toml")
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DLANGEVIN_ENABLE_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES=90 "${toml_args[@]}" >"$out/cmake.log" 2>&1 || {
    tail -30 "$out/cmake.log"; exit 1; }
start=$(date +%s)
cmake --build "$build" -j16 >"$out/build.log" 2>&1 || { grep -E "error" -A3 "$out/build.log" | head -40; exit 1; }
echo "build: $(( $(date +%s) - start )) s"

LANGEVIN_REQUIRE_CUDA=1 ctest --test-dir "$build" -j8 --output-on-failure >"$out/ctest.log" 2>&1
ctest_rc=$?
grep -E "tests passed|tests failed|Failed|\(Failed\)" "$out/ctest.log" | tail -15

bench="$build/bench/langevin_bench"
run_bench() { # label, args...
    local label=$1
    shift
    echo "$label|$("$bench" "$@" 2>&1 | tail -1)" >>"$out/bench.txt"
}
dw=bench/studies/double_well_em.toml
: >"$out/bench.txt"
run_bench "dw EM f32 2^24 x1000" $dw --backend cuda
run_bench "dw EM f32 2^24 x1000 +obs/100" $dw --backend cuda --sample-every 100
run_bench "dw EM f64 2^24 x1000" $dw --backend cuda --set ensemble.precision=float64
run_bench "dw BAOAB f32 2^24 x1000" $dw --backend cuda --set integrator.kind=baoab
run_bench "rastrigin8 EM f32 2^22 x500" bench/studies/rastrigin8.toml --backend cuda
run_bench "dw EM f32 cpu16 2^22 x100" $dw --backend cpu --set ensemble.walkers=4194304 \
    --set run.steps=100 --repeats 3

example=data/examples/double_well.toml
"$build/langevin" run $example --backend cuda --json >"$out/example.json" 2>"$out/example.err"
"$build/langevin" run $example --backend cuda | tail -14

echo
echo "== summary ($(head -1 "$out/gpu.txt"), $(date -u +%F))"
echo "tests: $(grep -E 'tests passed' "$out/ctest.log" || echo 'see ctest.log') (rc $ctest_rc)"
python3 - "$out/bench.txt" <<'PY'
import json, sys
print(f"{'benchmark':34s} {'walker-steps/s':>15s} {'coord-steps/s':>15s} {'first step s':>12s}")
for line in open(sys.argv[1]):
    label, _, js = line.strip().partition('|')
    try:
        d = json.loads(js)
        print(f"{label:34s} {d['walker_steps_per_second']:15.3e} {d['coordinate_steps_per_second']:15.3e} {d['time_to_first_step_s']:12.3f}")
    except Exception:
        print(f"{label:34s} failed: {js[:80]}")
PY
exit $ctest_rc
