#!/usr/bin/env bash
# The GPU check, in ONE call on a lent H100/H200: build with CUDA for sm_90 (-j16), run every test
# with LANGEVIN_REQUIRE_CUDA=1 (CUDA tests fail rather than skip), run the benchmarks, the bare
# CUDA loop, the peer comparison, the 1e10-walker run, the N sweep and the matrix, and print a
# table last. toml++ is not installed there: carry its headers in .toml/.
# `scripts/gpu-check.sh --pack` (here, no GPU needed) builds and packs the build into
# .gpu-prebuilt/ (scripts/gpu_pack.py); carried along, it replaces the build there while every
# source is as packed, and the check's device time goes to tests and benchmarks.
# LANGEVIN_GPU_BUDGET (seconds, default 420) skips the later, optional steps once it is spent;
# LANGEVIN_GPU_QUICK=1 runs only the build, the tests, the benchmarks and the 1e10-walker run;
# LANGEVIN_GPU_PROFILE=1 adds an nsys kernel summary of the sampled benchmark (when nsys exists).
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-gpu
pack=.gpu-prebuilt
# The CUDA build for sm_90 (-jJOBS), logs in $1.
build_gpu() { # log-folder jobs
    local toml_args=() generator=()
    [ -d .toml/toml++ ] && toml_args=(-DLANGEVIN_TOMLPP_INCLUDE="$PWD/.toml")
    # A fresh folder builds with Ninja where it is installed (the GPU image has it): unlike
    # Make, it compiles a target's objects while the libraries it links are still building.
    [ ! -f "$build/CMakeCache.txt" ] && command -v ninja >/dev/null && generator=(-G Ninja)
    cmake -S . -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release -DLANGEVIN_ENABLE_CUDA=ON \
        -DCMAKE_CUDA_ARCHITECTURES=90 "${toml_args[@]}" >>"$1/cmake.log" 2>&1 || {
        tail -30 "$1/cmake.log"; return 1; }
    cmake --build "$build" -j"$2" >>"$1/build.log" 2>&1 || {
        grep -E "error" -A3 "$1/build.log" | head -40; return 1; }
}
if [ "${1:-}" = --pack ]; then
    # Here, without a GPU: build and pack for the device call to carry (name .gpu-prebuilt in
    # `carry`). The check uses the pack only while every source is as packed.
    rm -f "$pack"/cmake.log "$pack"/build.log
    python3 scripts/gpu_pack.py stamp "$build" "$pack" || exit 1
    start=$(date +%s)
    build_gpu "$pack" "$(nproc)" || exit 1
    grep -i "spill" "$pack/build.log" | head -5
    echo "build: $(($(date +%s) - start)) s"
    python3 scripts/gpu_pack.py pack "$build" "$pack"
    exit
fi
# Everything is written to gpu-check-out/; where $OUT is set (the device tool), the results (at
# most 8 files: the tool returns no more) are copied there on every exit, a failed build's too.
out=gpu-check-out
rm -rf "$out" # a warm machine keeps it: no stale results from an earlier call
mkdir -p "$out"
budget=${LANGEVIN_GPU_BUDGET:-420}
quick=${LANGEVIN_GPU_QUICK:-0}
profile=${LANGEVIN_GPU_PROFILE:-0}
for setting in "LANGEVIN_GPU_BUDGET=$budget" "LANGEVIN_GPU_QUICK=$quick" \
    "LANGEVIN_GPU_PROFILE=$profile"; do
    case $setting in
    *_BUDGET=[1-9]*) [[ ${setting#*=} =~ ^[0-9]+$ ]] && continue ;;
    *=[01]) continue ;;
    esac
    echo "$setting: the budget is whole seconds; QUICK and PROFILE are 0 or 1" >&2
    exit 2
done
t0=$(date +%s)
left() { echo $((budget - ($(date +%s) - t0))); }
# Each step's outcome, "label|ok" or "label|FAILED ...": the summary lists them and any failure
# fails the check.
: >"$out/steps.txt"
step() { echo "$1|$2" >>"$out/steps.txt"; }
# The results so far, copied to $OUT after each step and on any exit: a command the device tool
# ends at its time limit still returns what was done (a partial summary: the steps so far).
save_results() {
    [ -n "${OUT:-}" ] || return 0
    [ -f "$out/summary.txt" ] || { cat "$out/gpu.txt" "$out/steps.txt"
        tail -40 "$out/cmake.log" "$out/build.log" 2>/dev/null; } >"$out/partial-summary.txt"
    for f in summary.txt partial-summary.txt tests.txt bench.txt bare.jsonl peers.txt \
        ten_billion.json matrix.jsonl; do
        [ -f "$out/$f" ] && cp "$out/$f" "$OUT/"
    done
    [ ! -f "$out/summary.txt" ] || rm -f "$OUT/partial-summary.txt"
}
trap 'step "stopped" "FAILED (SIGTERM at $(($(date +%s) - t0)) s)"; exit 143' TERM
trap 'save_results' EXIT
timeout 30 nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader \
    >"$out/gpu.txt" 2>&1
cat "$out/gpu.txt"
if [ -f "$pack/info.json" ] && python3 scripts/gpu_pack.py unpack "$build" "$pack" \
    2>"$out/unpack.err"; then
    grep -i "spill" "$pack/build.log" | head -5
    echo "build: prebuilt (unpacked in $(($(date +%s) - t0)) s)"
    step build "ok (prebuilt)"
else
    why=""
    [ -f "$pack/info.json" ] && why=" ($(tail -1 "$out/unpack.err"))" && cat "$out/unpack.err"
    rm -rf "$build" # never configure over a pack's cache, or a warm machine's stale build
    build_gpu "$out" 16 || { step build "FAILED$why"; exit 1; }
    echo "build: $(($(date +%s) - t0)) s"
    grep -i "spill" "$out/build.log" | head -5
    step build "ok$why"
fi
save_results
# langevin plot (the plot test) takes the Python of PATH where that one has what it needs.
python3 -c "import h5py, numpy, matplotlib" 2>/dev/null &&
    export LANGEVIN_PYTHON=${LANGEVIN_PYTHON:-$(command -v python3)}

# The tests get what the budget leaves them (at least 120 s), up to 300 s.
LANGEVIN_REQUIRE_CUDA=1 timeout $(($(left) > 300 ? 300 : ($(left) > 120 ? $(left) : 120))) \
    ctest --test-dir "$build" -j8 --no-tests=error --output-on-failure >"$out/ctest.log" 2>&1
ctest_rc=$?
grep -E "tests passed|tests failed|\(Failed\)|\(Timeout\)" "$out/ctest.log" | tail -15
[ "$ctest_rc" = 0 ] && step tests ok || step tests "FAILED (ctest rc $ctest_rc)"
echo "tests: $(($(date +%s) - t0)) s"
{ grep -E "tests passed|tests failed|\(Failed\)|\(Timeout\)" "$out/ctest.log"
  grep -h "lgv_sin_2pi" "$build"/Testing/Temporary/LastTest*.log
  # what a failing test said (the log itself does not come back): gtest's failures, and the
  # output of each failed test (script tests print no "Failure" line), 80 lines each
  grep -h -A6 "Failure$" "$build"/Testing/Temporary/LastTest*.log | head -200
  awk '/^ *[0-9]+\/[0-9]+ Test +#/ { p = /\*\*\*(Failed|Timeout|Exception)/; n = 0 }
       /^ +Start +[0-9]+: |% tests passed/ { p = 0 } p && n++ < 80' "$out/ctest.log" |
      head -400; } >"$out/tests.txt" 2>/dev/null
save_results

bench="$build/bench/langevin_bench"
# At most 120 s, less where the budget is nearly spent (at least 30 s: its figures are the peers').
bare_limit=$(($(left) - 10))
bare_limit=$((bare_limit > 120 ? 120 : (bare_limit < 30 ? 30 : bare_limit)))
timeout "$bare_limit" "$build/bench/langevin_bare_loop" >"$out/bare.jsonl" 2>"$out/bare.err"
bare_rc=$?
if [ "$bare_rc" = 0 ] && [ "$(grep -c walker_steps_per_second "$out/bare.jsonl")" = 4 ]; then
    step "bare loop" ok
else
    step "bare loop" "FAILED (rc $bare_rc): $(tail -c 300 "$out/bare.err")"
fi
# One benchmark: label, then langevin_bench's arguments; at most 120 s each, within the budget.
run_bench() {
    local label=$1 result rc limit=$(($(left) - 10))
    shift
    [ "$limit" -gt 120 ] && limit=120
    if [ "$limit" -lt 10 ]; then
        step "$label" "skipped (budget)"
        return
    fi
    result=$(timeout "$limit" "$bench" "$@" 2>&1)
    rc=$?
    echo "$label|$(tail -1 <<<"$result")" >>"$out/bench.txt"
    [ "$rc" = 0 ] || step "$label" "FAILED (rc $rc): $(tail -c 300 <<<"$result")"
}
dw=bench/studies/double_well_em.toml
: >"$out/bench.txt"
run_bench "dw EM f32 2^24 x1000" $dw --backend cuda
run_bench "dw EM f32 2^24 x1000 +obs/100" $dw --backend cuda --sample-every 100
run_bench "dw EM f32 +obs/100 serial" $dw --backend cuda --sample-every 100 --serial-sampling
for k in 1 2 4; do # slices of walkers stepping on their own streams while sampling (default 2)
    LANGEVIN_STEP_SLICES=$k run_bench "dw EM f32 +obs/100 slices $k" $dw --backend cuda \
        --sample-every 100
done
for b in 1 2 4 0; do # the grid of queued observations, blocks per SM (0: the whole card)
    LANGEVIN_OBSERVER_BLOCKS=$b run_bench "dw EM f32 +obs/100 obs-grid $b/SM" $dw \
        --backend cuda --sample-every 100
done
run_bench "dw EM f64 2^24 x1000" $dw --backend cuda --set ensemble.precision=float64
run_bench "dw BAOAB f32 2^24 x1000" $dw --backend cuda --set integrator.kind=baoab
run_bench "dw BAOAB f32 2^24 +obs/100" $dw --backend cuda --set integrator.kind=baoab \
    --sample-every 100
run_bench "dw LM f32 2^24 x1000" $dw --backend cuda --set integrator.kind=leimkuhler_matthews
run_bench "rastrigin8 EM f32 2^22 x500" bench/studies/rastrigin8.toml --backend cuda
run_bench "rastrigin8 EM f32 +obs/100" bench/studies/rastrigin8.toml --backend cuda \
    --sample-every 100
run_bench "dw EM f32 cpu16 2^22 x100" $dw --backend cpu --set ensemble.walkers=4194304 \
    --set run.steps=100 --repeats 3
echo "benchmarks: $(($(date +%s) - t0)) s"
save_results
if [ "$profile" = 1 ] && [ "$(left)" -gt 120 ] && command -v nsys >/dev/null 2>&1; then
    timeout 90 nsys profile -o "$out/sampling" --force-overwrite true \
        "$bench" $dw --backend cuda --sample-every 100 --repeats 1 >"$out/nsys.log" 2>&1 &&
        nsys stats -r cuda_gpu_kern_sum,cuda_gpu_mem_time_sum -f csv -o "$out/stats" \
            "$out/sampling.nsys-rep" >>"$out/nsys.log" 2>&1
    python3 - "$out"/stats_*.csv <<'PY' || tail -5 "$out/nsys.log"
import csv, sys
for path in sys.argv[1:]:
    for d in list(csv.DictReader(open(path)))[:8]:
        name = d.get("Name") or d.get("Operation") or "?"
        print(f"{name[:60]:60s} x{d.get('Instances') or d.get('Count')} "
              f"total {float(d['Total Time (ns)']) / 1e6:8.3f} ms, "
              f"avg {float(d['Avg (ns)']) / 1e3:8.1f} us")
PY
    rm -f "$out"/sampling.nsys-rep "$out"/sampling.sqlite
    echo "profile: $(($(date +%s) - t0)) s"
fi

if [ "$quick" != 1 ] && [ "$(left)" -gt 100 ]; then
    PYTHONUNBUFFERED=1 timeout $(($(left) - 60)) python3 bench/peers/compare.py --bench "$bench" \
        --device gpu --repeats 3 >"$out/peers.txt" 2>&1
    rc=$?
    tail -9 "$out/peers.txt"
    case $rc in
    0) step peers ok ;;
    124) step peers "stopped by the budget" ;;
    *) step peers "FAILED (rc $rc): $(tail -c 300 "$out/peers.txt")" ;;
    esac
    echo "peers: $(($(date +%s) - t0)) s"
    save_results
elif [ "$quick" != 1 ]; then
    step peers "skipped (budget)"
fi
if [ "$(left)" -gt 50 ]; then # 1e10 walkers in chunks, 100 steps, one histogram
    timeout $(($(left) - 20)) "$build/langevin" run $dw --backend cuda --quiet --json \
        --set ensemble.walkers=1e10 --set run.steps=100 >"$out/ten_billion.json" \
        2>"$out/ten_billion.err"
    rc=$?
    if [ "$rc" = 0 ] && python3 -c "
import json; d = json.load(open('$out/ten_billion.json'))
s = d['samples'][-1]
print('1e10 walkers x 100 steps:', d['chunks'], 'chunks,', round(d['seconds'], 2), 's,',
      '%.3g walker-steps/s,' % d['walker_steps_per_second'], 'KL %.3g' % s['kl'],
      'outside', s['outside'], 'nonfinite', s['nonfinite'])"; then
        step "1e10 walkers" ok
    else
        step "1e10 walkers" "FAILED (rc $rc): $(tail -c 300 "$out/ten_billion.err")"
    fi
    save_results
else
    step "1e10 walkers" "skipped (budget)"
fi
for n in 1000 10000 100000 1000000 10000000 100000000 1000000000; do
    [ "$quick" != 1 ] || break
    [ "$(left)" -gt 40 ] || { step "N sweep from N=$n" "skipped (budget)"; break; }
    steps=$((2000000000 / n)); [ $steps -lt 100 ] && steps=100; [ $steps -gt 20000 ] && steps=20000
    run_bench "N sweep EM f32 N=$n" $dw --backend cuda --set ensemble.walkers=$n \
        --set run.steps=$steps --repeats 3
done
if [ "$quick" != 1 ] && [ "$(left)" -gt 30 ]; then
    timeout $(($(left) - 10)) "$bench" --matrix --backend cuda --sizes 10000,1000000,100000000 \
        --repeats 1 --work 1e10 >"$out/matrix.jsonl" 2>"$out/matrix.err"
    rc=$?
    echo "matrix: $(wc -l <"$out/matrix.jsonl") points"
    case $rc in # the budget's timeout ends the matrix early by design: its points so far stand
    0) step matrix "ok ($(wc -l <"$out/matrix.jsonl") points)" ;;
    124) step matrix "stopped by the budget after $(wc -l <"$out/matrix.jsonl") points" ;;
    *) step matrix "FAILED (rc $rc): $(tail -c 300 "$out/matrix.err")" ;;
    esac
elif [ "$quick" != 1 ]; then
    step matrix "skipped (budget)"
fi

{
echo
echo "== summary ($(head -1 "$out/gpu.txt"), $(date -u +%F), $(($(date +%s) - t0)) s)"
echo "tests: $(grep -E 'tests passed' "$out/ctest.log" || echo 'see ctest.log') (rc $ctest_rc)"
python3 - "$out/bench.txt" "$out/bare.jsonl" <<'PY'
import json, sys
failed = 0
targets = {"dw EM f32 2^24 x1000 +obs/100": 6.0e11, "dw EM f64 2^24 x1000": 1.9e11,
           "dw BAOAB f32 2^24 x1000": 5e11, "rastrigin8 EM f32 2^22 x500": 5.5e11}
print(f"{'benchmark':40s} {'walker-steps/s':>15s} {'coord-steps/s':>15s} {'first step s':>12s} "
      f"{'target':>12s} {'sample ms':>9s} {'advance ms':>10s}")
for line in open(sys.argv[1]):
    label, _, js = line.strip().partition('|')
    try:
        d = json.loads(js)
        t = targets.get(label)
        # Rastrigin's target is in coordinate-steps/s
        rate = d['coordinate_steps_per_second' if 'rastrigin' in label else
                 'walker_steps_per_second']
        verdict = ('%.1e %s' % (t, 'met' if rate >= t else 'NOT')) if t else ''
        print(f"{label:40s} {d['walker_steps_per_second']:15.3e} "
              f"{d['coordinate_steps_per_second']:15.3e} {d['time_to_first_step_s']:12.3f} "
              f"{verdict:>12s} "
              f"{'%.3f' % (d['observe_s'] * 1e3) if d.get('observe_s') else '':>9s} "
              f"{'%.3f' % (d['advance_s'] * 1e3) if d.get('advance_s') else '':>10s}")
    except Exception:
        failed += 1
        print(f"{label:40s} failed: {js[:80]}")
for line in open(sys.argv[2]):
    try:
        d = json.loads(line)
        print(f"{d['label'][:40]:40s} {d['walker_steps_per_second']:15.3e} "
              f"{d['coordinate_steps_per_second']:15.3e}")
    except Exception:
        failed += 1
        print("bare loop:", line.strip()[:100])
sys.exit(1 if failed else 0)
PY
bench_rc=$? # a benchmark that failed fails the check, as a failed test does
echo "steps:"
sed 's/^/  /; s/|/: /' "$out/steps.txt"
exit $bench_rc
} | tee "$out/summary.txt"
bench_rc=${PIPESTATUS[0]}
grep -q "|FAILED" "$out/steps.txt" && exit 1
[ "$ctest_rc" != 0 ] && exit "$ctest_rc"
exit "$bench_rc"
