#!/usr/bin/env bash
# langevin_bench and bench/peers/compare.py, untimed (no rate is compared with anything): what
# they cannot time as asked is refused before any work, naming the option or key, the value and
# what is allowed; small runs give the documented JSON. Args: langevin_bench python source-dir.
set -euo pipefail
# A failing check says where (a failed grep -q prints nothing of its own).
trap 'echo "$0:$LINENO: failed (exit $?): $BASH_COMMAND" >&2' ERR
bench=$1 python=$2 root=$3
study=$root/bench/studies/double_well_em.toml
small=(--backend cpu --set ensemble.walkers=1000 --set run.steps=200)
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
failures=0
fail() {
    echo "FAIL: $*"
    failures=$((failures + 1))
}

# refuse MESSAGE ARGS...: langevin_bench ARGS fails, says MESSAGE, and prints no result.
refuse() {
    local want=$1 rc=0
    shift
    "$bench" "$@" >"$dir/out" 2>"$dir/err" || rc=$?
    if [ "$rc" = 0 ] || ! grep -qF -- "$want" "$dir/err" || [ -s "$dir/out" ]; then
        fail "langevin_bench $* -> rc $rc, stderr: $(cat "$dir/err"), stdout: $(head -c 200 "$dir/out")" \
            "(expected: $want)"
    fi
}
refuse "--repeats: 0: must be a whole number of repeats from 1 to 1000000" "$study" \
    "${small[@]}" --repeats 0
refuse "--repeats: 1.5: must be a whole number" "$study" "${small[@]}" --repeats 1.5
refuse "error: The following argument was not expected: --bogus" "$study" "${small[@]}" --bogus
refuse "--sample-every: -1: must be a whole number of steps >= 0" "$study" "${small[@]}" \
    --sample-every -1
refuse "--sample-every 300 exceeds the run's 200 steps" "$study" "${small[@]}" --sample-every 300
refuse "--serial-sampling: only with --sample-every K > 0" "$study" "${small[@]}" --serial-sampling
refuse "[run] steps = 0: nothing to time" "$study" --backend cpu --set ensemble.walkers=1000 \
    --set run.steps=0
refuse "[ensemble] chunk = 100: the benchmark steps all 1000 walkers as one chunk" "$study" \
    "${small[@]}" --set ensemble.chunk=100
refuse "[ensemble] walkers = 1000000000000000: more than the" "$study" --backend cpu \
    --set ensemble.walkers=1e15
refuse "--matrix excludes study" "$study" --matrix
refuse "--sizes requires --matrix" "$study" "${small[@]}" --sizes 1e4
refuse "--matrix excludes --sample-every" --matrix --sample-every 100
refuse "--work: nan: must be a number of walker-steps from 1 to 1e18" --matrix --work nan
refuse "--work: 1e30: must be" --matrix --work 1e30
refuse "--sizes: 1.5: must be a whole number of walkers >= 1" --matrix --sizes 1e4,1.5
refuse "--sizes: -5: must be" --matrix --sizes -5
refuse "--set run.steps=7: the matrix sets run.steps itself" --matrix --set run.steps=7
# Checked before the first point is timed, and the point named.
refuse "matrix point muller_brown, euler_maruyama, float32, N = 1000: --set potential.tilt" \
    --matrix --backend cpu --sizes 1000 --work 1e5 --set potential.tilt=0.2
if "$bench" "$study" "${small[@]}" --repeats 1 >/dev/full 2>"$dir/err"; then
    fail "a result written to /dev/full exits 0"
fi
grep -qF "could not write the result" "$dir/err" || fail "/dev/full: $(cat "$dir/err")"
# A reader that has gone: an error too (exit code 1), not a silent SIGPIPE (141).
{ "$bench" "$study" "${small[@]}" --repeats 1 2>"$dir/err" | (exec 0<&-); rc=${PIPESTATUS[0]}; } ||
    true # (a failure here is expected: no ERR trap message)
[ "$rc" = 1 ] && grep -qF "could not write the result" "$dir/err" ||
    fail "a closed pipe: rc $rc, $(cat "$dir/err")"

# One study: its own [backend] keys apply when --backend is not given; 1e2 is a whole number.
"$bench" "$study" --set backend.kind=cpu --set backend.threads=1 --set ensemble.walkers=1000 \
    --set run.steps=200 --sample-every 1e2 --repeats 2 >"$dir/one.jsonl"
# The matrix: 4 workloads x 3 integrators x 2 precisions x 2 sizes x {no sampling, /100}.
"$bench" --matrix --backend cpu --sizes 1000,15000 --work 2e6 --repeats 1 >"$dir/matrix.jsonl"
"$python" - "$dir/one.jsonl" "$dir/matrix.jsonl" <<'PY' || failures=$((failures + 1))
import json, re, sys
one = [json.loads(line) for line in open(sys.argv[1])]
assert len(one) == 1, one
d = one[0]
for key in ("date", "label", "backend", "device", "potential", "integrator", "precision", "dim",
            "walkers", "steps", "sample_every", "sampling", "backend_creation_s",
            "time_to_first_step_s", "walker_steps_per_second", "observe_s", "advance_s",
            "coordinate_steps_per_second"):
    assert key in d, key
assert re.fullmatch(r"\d{4}-\d\d-\d\d", d["date"]), d["date"]
assert d["backend"] == "cpu" and "1 OpenMP thread" in d["device"], d["device"]
assert (d["walkers"], d["steps"], d["sample_every"], d["sampling"]) == (1000, 200, 100, "queued")
assert d["walker_steps_per_second"] > 0 and d["observe_s"] > 0 and d["advance_s"] > 0, d
points = [json.loads(line) for line in open(sys.argv[2])]
assert len(points) == 96, len(points)
seen = {(p["label"], p["integrator"], p["precision"], p["walkers"], p["sample_every"])
        for p in points}
assert len(seen) == 96, "repeated points"
assert {p["label"] for p in points} == {"double_well", "muller_brown", "rastrigin8", "harmonic"}
for p in points:
    # --work / N in whole hundreds, at least 100: 2e6 / 1000 = 2000; 2e6 / 15000 -> 100
    assert p["steps"] == {1000: 2000, 15000: 100}[p["walkers"]], p
    assert p["sampling"] == ("none" if p["sample_every"] == 0 else "queued"), p
    assert p["coordinate_steps_per_second"] == p["walker_steps_per_second"] * p["dim"], p
    assert p["dim"] == {"double_well": 1, "muller_brown": 2, "rastrigin8": 8, "harmonic": 1}[
        p["label"]], p
print("langevin_bench: one study and", len(points), "matrix points as documented")
PY

# compare.py: its own checks, the bench's error passed on, and one small comparison.
compare=$root/bench/peers/compare.py
for bad in "--n 0" "--steps 50" "--repeats 0" "--precision float16"; do
    # shellcheck disable=SC2086
    if "$python" "$compare" --bench "$bench" --device cpu $bad >/dev/null 2>"$dir/err"; then
        fail "compare.py $bad exits 0"
    fi
done
if "$python" "$compare" --bench "$root" --device cpu >/dev/null 2>"$dir/err" ||
    ! grep -qF "not an executable file" "$dir/err"; then
    fail "compare.py --bench FOLDER: $(cat "$dir/err")"
fi
"$python" "$compare" --bench "$bench" --device cpu --n 2000 --steps 100 --repeats 1 \
    >"$dir/compare.txt"
"$python" - "$dir/compare.txt" <<'PY' || failures=$((failures + 1))
import json, sys
lines = open(sys.argv[1]).read().splitlines()
d = json.loads(lines[0])
assert (d["walkers"], d["steps"], d["precision"]) == (2000, 100, "float32"), d
assert d["ours"] > 0 and d["ours_with_sampling_every_100"] > 0, d
assert d["peers"]["numpy"] > 0, d  # this Python has numpy (the tests need it)
assert any(line.startswith("numpy") for line in lines), lines
print("compare.py: one ratio table")
PY

[ "$failures" = 0 ] || { echo "$failures failure(s)"; exit 1; }
echo "all bench command-line checks passed"
