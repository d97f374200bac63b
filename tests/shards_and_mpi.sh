#!/usr/bin/env bash
# Shards merged (`--shard i/K` + `langevin merge`) and MPI runs (`mpirun -np K`) give bitwise the
# results of the single run; bad merges are refused; interrupted shards and ranks resume.
# Args: langevin python study-dir mode, mode = shards | mpi MPIEXEC.
set -euo pipefail
# A failing check says where (a failed grep -q prints nothing of its own).
trap 'echo "$0:$LINENO: failed (exit $?): $BASH_COMMAND" >&2' ERR
langevin=$1 python=$2 examples=$3 mode=$4
same="$python $(dirname "$0")/h5_same_results.py"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
wait_for() { # file...: waits up to 10 s until every file exists
    for _ in $(seq 1 1000); do
        local missing=0 f
        for f in "$@"; do [ -f "$f" ] || missing=1; done
        [ "$missing" = 0 ] && return 0
        sleep 0.01
    done
    echo "waited 10 s for: $*" >&2
    return 1
}
# 5 moment blocks of 4096 walkers: 4 shards hold 1, 1, 1 and 2 blocks; 7 shards leave 2 empty.
# Kramers: first passage, a point start, trajectories of walkers 0..2.
args=(run "$examples/kramers.toml" --quiet --backend cpu --set ensemble.walkers=20000
      --set ensemble.chunk=4096 --set run.steps=3000 --set run.samples=6
      --set output.trajectories=3 --set output.trajectory_every=500)
"$langevin" "${args[@]}" -o "$dir/single.h5" >/dev/null

if [ "$mode" = shards ]; then
    for k in 2 4 7; do
        for ((i = 0; i < k; ++i)); do
            "$langevin" "${args[@]}" --shard "$i/$k" -o "$dir/k$k-$i.h5" >/dev/null
        done
        # Any order on the command line.
        "$langevin" merge "$dir/merged$k.h5" $(ls "$dir"/k$k-*.h5 | sort -r) >/dev/null
        $same "$dir/single.h5" "$dir/merged$k.h5"
    done
    # The merged file's stored study names it as the output, not the first shard.
    "$python" - "$dir/merged2.h5" <<'PY'
import json, sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    config = json.loads(f["parameters"].attrs["config_json"])
    toml = f["parameters"].attrs["config_toml"]
    toml = toml.decode() if isinstance(toml, bytes) else toml
assert config["output"]["file"] == sys.argv[1], config["output"]
assert sys.argv[1] in toml, toml
PY
    # SGD: the stored study (with its [data] and learning-rate keys) reads back for the merge.
    for lr in constant geometric logarithmic; do
        sgd=(run "$examples/sgd_linear.toml" --quiet --backend cpu --set ensemble.walkers=6000
             --set ensemble.chunk=4096 --set run.steps=200 --set integrator.lr_schedule=$lr)
        "$langevin" "${sgd[@]}" -o "$dir/sgd-$lr.h5" >/dev/null
        for i in 0 1; do
            "$langevin" "${sgd[@]}" --shard "$i/2" -o "$dir/sgd-$lr-$i.h5" >/dev/null
        done
        "$langevin" merge "$dir/sgd-$lr-merged.h5" "$dir/sgd-$lr-"[01].h5 >/dev/null
        $same "$dir/sgd-$lr.h5" "$dir/sgd-$lr-merged.h5"
    done
    expect_error() { # message-substring command...
        local want=$1
        shift
        if "$@" >/dev/null 2>"$dir/err"; then
            echo "expected an error from: $*"
            exit 1
        fi
        grep -q -- "$want" "$dir/err" || { echo "want '$want', got:"; cat "$dir/err"; exit 1; }
    }
    # Settings that change no result may differ between shards (threads, checkpoints, chunk).
    "$langevin" "${args[@]}" --set backend.threads=1 --set output.checkpoint_every=700 \
        --set ensemble.chunk=8192 --shard 1/2 -o "$dir/k2-1-other.h5" >/dev/null
    "$langevin" merge "$dir/mixed.h5" "$dir/k2-0.h5" "$dir/k2-1-other.h5" >/dev/null
    $same "$dir/single.h5" "$dir/mixed.h5"
    expect_error "are in no shard" "$langevin" merge "$dir/x.h5" "$dir/k4-0.h5" "$dir/k4-2.h5" \
        "$dir/k4-3.h5"
    expect_error "are in no shard" "$langevin" merge "$dir/x.h5" "$dir/k4-0.h5" "$dir/k4-1.h5"
    expect_error "both hold walkers" "$langevin" merge "$dir/x.h5" "$dir/k2-0.h5" \
        "$dir/k4-1.h5" "$dir/k2-1.h5"
    "$langevin" "${args[@]}" --set run.steps=2000 --shard 1/2 -o "$dir/other.h5" >/dev/null
    expect_error "different studies" "$langevin" merge "$dir/x.h5" "$dir/k2-0.h5" "$dir/other.h5"
    expect_error "not a shard" "$langevin" merge "$dir/x.h5" "$dir/single.h5"
    expect_error "exists" "$langevin" merge "$dir/merged4.h5" "$dir/k4-0.h5"
    expect_error "want i/K" "$langevin" "${args[@]}" --shard 2/2 -o "$dir/x.h5"
    [ ! -e "$dir/x.h5" ]

    # A shard interrupted by SIGTERM resumes from its own checkpoint.
    long=("${args[@]}" --set run.steps=60000 --set output.checkpoint_every=500)
    "$langevin" "${long[@]}" --shard 1/2 -o "$dir/whole1.h5" >/dev/null
    "$langevin" "${long[@]}" --shard 1/2 -o "$dir/term1.h5" >/dev/null 2>&1 &
    pid=$!
    wait_for "$dir/term1.h5.partial"
    sleep 0.2
    kill -TERM "$pid"
    status=0
    wait "$pid" || status=$?
    [ "$status" != 0 ] || { echo "the shard finished before SIGTERM: make it longer"; exit 1; }
    [ "$status" = 143 ] || { echo "the shard's exit status after SIGTERM was $status, not 143"; exit 1; }
    "$langevin" run --resume "$dir/term1.h5" --quiet >/dev/null
    $same "$dir/whole1.h5" "$dir/term1.h5"
    echo "shards 2, 4, 7 and SGD shards merged: bitwise the single run; bad merges refused; shard resumed"
    exit 0
fi

mpiexec=$5
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mpi=("$mpiexec" --oversubscribe)
for np in 1 2 3; do
    "${mpi[@]}" -np "$np" "$langevin" "${args[@]}" -o "$dir/np$np.h5" >/dev/null
    $same "$dir/single.h5" "$dir/np$np.h5"
done
# Errors are printed once: what every rank reads alike by rank 0, a rank's own by that rank,
# without an abort; the exit status says it failed; nothing is written.
once() { # file pattern: the pattern is on exactly one line
    [ "$(grep -c -- "$2" "$1")" = 1 ] || { echo "want one line with '$2' in:"; cat "$1"; exit 1; }
}
if "${mpi[@]}" -np 3 "$langevin" "${args[@]}" --set run.steps=-3 -o "$dir/bad.h5" 2>"$dir/err"
then echo "a bad key must fail"; exit 1; fi
once "$dir/err" "^error: --set run.steps: \[run\] steps = -3: must be an integer >= 0"
# (only our own lines: Open MPI's notices may mention ranks)
if grep -q "(rank [0-9]* of\|MPI_ABORT" "$dir/err"; then cat "$dir/err"; exit 1; fi
if "${mpi[@]}" -np 3 "$langevin" run --bogus 2>"$dir/err"; then exit 1; fi
once "$dir/err" "not expected: --bogus"
[ "$("${mpi[@]}" -np 3 "$langevin" --version)" = "$("$langevin" --version)" ]
touch "$dir/taken.h5.rank-1-of-3.partial"
if "${mpi[@]}" -np 3 "$langevin" "${args[@]}" -o "$dir/taken.h5" 2>"$dir/err"; then exit 1; fi
once "$dir/err" "^error: (rank 1 of 3) .*taken.h5.rank-1-of-3.partial holds an interrupted run"
[ "$(grep -c "^error" "$dir/err")" = 1 ] && ! grep -q MPI_ABORT "$dir/err"
[ ! -e "$dir/bad.h5" ] && [ ! -e "$dir/taken.h5" ] && [ ! -s "$dir/taken.h5.rank-1-of-3.partial" ]
if "${mpi[@]}" -np 3 "$langevin" merge "$dir/m.h5" "$dir/none.h5" 2>"$dir/err"; then exit 1; fi
once "$dir/err" "^error: merge: .*none.h5: no such file"

# SIGTERM to mpirun reaches every rank: each checkpoints; the same -np resumes them.
long=("${args[@]}" --set run.steps=60000 --set output.checkpoint_every=500)
"$langevin" "${long[@]}" -o "$dir/whole.h5" >/dev/null
"${mpi[@]}" -np 3 "$langevin" "${long[@]}" -o "$dir/term.h5" >/dev/null 2>"$dir/term.err" &
pid=$!
wait_for "$dir/term.h5.rank-2-of-3.partial"
sleep 0.3
kill -TERM "$pid"
if wait "$pid"; then echo "the MPI run finished before SIGTERM: make it longer"; exit 1; fi
[ ! -f "$dir/term.h5" ] || { echo "the MPI run finished before SIGTERM"; exit 1; }
grep -q "mpirun -np 3 langevin run --resume" "$dir/term.err"
if "${mpi[@]}" -np 2 "$langevin" run --resume "$dir/term.h5" --quiet >/dev/null 2>"$dir/err"; then
    echo "resuming 3 ranks' checkpoints with 2 ranks must fail"
    exit 1
fi
"${mpi[@]}" -np 3 "$langevin" run --resume "$dir/term.h5" --quiet >/dev/null
[ ! -e "$dir/term.h5.rank-0-of-3.partial" ]
$same "$dir/whole.h5" "$dir/term.h5"
# The final write fails (a folder appeared at the output during the run): exit 1, no .tmp left,
# every rank's checkpoint kept; once the folder is gone, the job resumes to the same file.
"${mpi[@]}" -np 2 "$langevin" "${long[@]}" -o "$dir/wfail.h5" >/dev/null 2>"$dir/wfail.err" &
pid=$!
wait_for "$dir/wfail.h5.rank-1-of-2.partial"
mkdir "$dir/wfail.h5"
if wait "$pid"; then echo "the write into a folder must fail"; exit 1; fi
grep -q "the last checkpoint is kept; once the output can be written, continue with: mpirun -np 2" \
    "$dir/wfail.err" || { cat "$dir/wfail.err"; exit 1; }
[ -f "$dir/wfail.h5.rank-0-of-2.partial" ] && [ -f "$dir/wfail.h5.rank-1-of-2.partial" ] ||
    { echo "a failed write must keep every rank's checkpoint"; exit 1; }
[ ! -e "$dir/wfail.h5.tmp" ] || { echo "a failed rename left its .tmp"; exit 1; }
rmdir "$dir/wfail.h5"
"${mpi[@]}" -np 2 "$langevin" run --resume "$dir/wfail.h5" --quiet >/dev/null
$same "$dir/whole.h5" "$dir/wfail.h5"

# SIGKILL before any periodic checkpoint: each rank resumes from its starting checkpoint.
"$langevin" "${args[@]}" --set run.steps=60000 -o "$dir/whole9.h5" >/dev/null
setsid "${mpi[@]}" -np 3 "$langevin" "${args[@]}" --set run.steps=60000 -o "$dir/kill9.h5" \
    >/dev/null 2>&1 &
pid=$!
wait_for "$dir"/kill9.h5.rank-{0,1,2}-of-3.partial
kill -KILL -- "-$pid" # mpirun and its ranks: one process group
wait "$pid" 2>/dev/null || true
[ ! -f "$dir/kill9.h5" ] || { echo "the MPI run finished before SIGKILL"; exit 1; }
"${mpi[@]}" -np 3 "$langevin" run --resume "$dir/kill9.h5" --quiet >/dev/null
$same "$dir/whole9.h5" "$dir/kill9.h5"
echo "mpirun -np 1, 2, 3: bitwise the single run; errors printed once; SIGTERM, SIGKILL or a" \
    "failed final write + resume per rank: identical"
