#!/usr/bin/env bash
# A run killed with SIGKILL mid-way and resumed gives bitwise the results of an uninterrupted run;
# SIGTERM and SIGINT checkpoint, exit with 128 + signal and say how to resume. Args: langevin
# python study-dir.
# LANGEVIN_TEST_BACKEND picks the backend (cpu by default); for cuda without a device the test
# skips (exit 77), and fails when LANGEVIN_REQUIRE_CUDA=1.
set -euo pipefail
# A failing check says where (a failed grep -q prints nothing of its own).
trap 'echo "$0:$LINENO: failed (exit $?): $BASH_COMMAND" >&2' ERR
langevin=$1 python=$2 examples=$3
backend=${LANGEVIN_TEST_BACKEND:-cpu}
if ! "$langevin" info | grep -Eq "^  $backend +available"; then
    "$langevin" info | grep -E "^  $backend "
    [ "$backend" = cuda ] && [ "${LANGEVIN_REQUIRE_CUDA:-0}" != 1 ] && exit 77
    exit 1
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
# The run must last long enough to be killed mid-way: the kill comes 0.3 s after the first
# checkpoint appears, so what counts is the time from that checkpoint to the end, not the start-up
# before it (a CUDA context alone can take longer than the whole stepping). 30000 steps take ~1 s
# on 2 CPU cores; a faster backend gets ten times the steps until that remainder is >= 0.8 s.
# Prints the milliseconds from the first checkpoint of "$@" to its end (0 if none was seen).
ms_after_first_checkpoint() {
    local out=$1 pid seen=0
    shift
    "$langevin" "$@" -o "$out" --force >/dev/null &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        if [ -f "$out.partial" ]; then
            seen=$(date +%s%N)
            break
        fi
        sleep 0.01
    done
    wait "$pid" || return # its status: a command substitution does not inherit set -e
    [ "$seen" = 0 ] && echo 0 || echo $((($(date +%s%N) - seen) / 1000000))
}
steps=30000
while :; do
    args=(run "$examples/kramers.toml" --quiet --backend "$backend"
          --set ensemble.walkers=12288 --set ensemble.chunk=4096 --set run.steps=$steps
          --set output.checkpoint_every=$((steps / 60)) --set output.trajectories=3
          --set output.trajectory_every=$((steps / 30)))
    elapsed_ms=$(ms_after_first_checkpoint "$dir/whole.h5" "${args[@]}")
    [ "$elapsed_ms" -ge 800 ] || [ "$steps" -ge 30000000 ] && break
    steps=$((steps * 10))
done
echo "$backend: $steps steps, $elapsed_ms ms from the first checkpoint to the end"
"$python" "$(dirname "$0")/h5py_check.py" "$dir/whole.h5"

"$langevin" "${args[@]}" -o "$dir/killed.h5" >/dev/null &
pid=$!
for _ in $(seq 1 1000); do # up to 10 s: a CUDA context starts first
    [ -f "$dir/killed.h5.partial" ] && break
    sleep 0.01
done
sleep 0.3
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
[ -f "$dir/killed.h5.partial" ] || { echo "no checkpoint was written before SIGKILL"; exit 1; }
[ ! -f "$dir/killed.h5" ] || { echo "the run finished before it was killed: make it longer"; exit 1; }
# An existing checkpoint blocks a fresh run without --force.
if "$langevin" "${args[@]}" -o "$dir/killed.h5" >/dev/null 2>"$dir/err"; then exit 1; fi
grep -q -- "--resume" "$dir/err"
# A SIGKILL during a checkpoint's write leaves a half-written .partial.tmp: resume ignores it and
# removes it with the checkpoint.
echo "half-written" >"$dir/killed.h5.partial.tmp"
"$langevin" run --resume "$dir/killed.h5" --quiet >/dev/null
[ ! -f "$dir/killed.h5.partial" ]
[ ! -f "$dir/killed.h5.partial.tmp" ] || { echo "the stale .partial.tmp was left"; exit 1; }
"$python" "$(dirname "$0")/h5_same_results.py" "$dir/whole.h5" "$dir/killed.h5" --attributes

# SIGTERM and SIGINT: checkpoint, exit with 128 + the signal's number, advice.
interrupt() { # name signal status
    "$langevin" "${args[@]}" -o "$dir/$1.h5" >/dev/null 2>"$dir/$1.err" &
    local pid=$! status=0
    for _ in $(seq 1 1000); do # up to 10 s: a CUDA context starts first
        [ -f "$dir/$1.h5.partial" ] && break
        sleep 0.01
    done
    kill -"$2" "$pid"
    wait "$pid" || status=$?
    [ "$status" = "$3" ] || { echo "SIG$2 exit status was $status, not $3"; exit 1; }
    grep -q "continue with: langevin run --resume" "$dir/$1.err"
}
interrupt int INT 130
"$langevin" run --resume "$dir/int.h5" --quiet >/dev/null
"$python" "$(dirname "$0")/h5_same_results.py" "$dir/whole.h5" "$dir/int.h5" --attributes
interrupt term TERM 143
# A file made at the output since the interruption is not overwritten without --force.
cp "$dir/whole.h5" "$dir/term.h5"
if "$langevin" run --resume "$dir/term.h5" --quiet >/dev/null 2>"$dir/err"; then exit 1; fi
grep -q -- "--force" "$dir/err"
cmp -s "$dir/whole.h5" "$dir/term.h5" || { echo "resume overwrote a file without --force"; exit 1; }
echo "stale" >"$dir/term.h5"
"$langevin" run --resume "$dir/term.h5" --quiet --force >/dev/null
"$python" "$(dirname "$0")/h5_same_results.py" "$dir/whole.h5" "$dir/term.h5" --attributes
# An existing output is never overwritten without --force.
if "$langevin" "${args[@]}" -o "$dir/whole.h5" >/dev/null 2>"$dir/err"; then exit 1; fi
grep -q -- "--force" "$dir/err"
echo "resume after SIGKILL and SIGTERM: bitwise identical"
