"""Ours vs peers on the identical workload (workload.py) in the same run: same N, steps and
precision, timed after a warm-up, median of several runs; prints one ratio table (ours / peer).

  python3 bench/peers/compare.py --bench build/bench/langevin_bench --device cpu  # vs numpy
  python3 bench/peers/compare.py --bench build/bench/langevin_bench --device gpu  # vs GPU peers
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import workload  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def time_peer(make, n, steps, repeats):
    run = make()
    run(min(steps, 10))  # warm-up: compilation, allocation
    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run(steps)
        seconds.append(time.perf_counter() - t0)
    return n * steps / statistics.median(seconds)  # the median run, as langevin_bench takes it


def ours(bench, backend, n, steps, repeats, precision, sample_every):
    cmd = [bench, os.path.join(ROOT, "bench/studies/double_well_em.toml"), "--backend", backend,
           "--repeats", str(repeats), "--set", f"ensemble.walkers={n}", "--set",
           f"run.steps={steps}", "--set", f"ensemble.precision={precision}"]
    if sample_every:
        cmd += ["--sample-every", str(sample_every)]
    try:
        return json.loads(run_quietly(cmd).strip().splitlines()[-1])
    except RuntimeError as e:  # without our own figure there is no table
        sys.exit(str(e))


def run_quietly(cmd):
    """stdout of cmd; if it fails, a RuntimeError with its own error message."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{os.path.basename(cmd[0])} failed (exit code {done.returncode}): "
                           f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def bare_cuda_peer(bench, n, steps, repeats, precision):
    """The hand-written CUDA loop (bench/bare_loop.cu), built next to langevin_bench."""
    exe = os.path.join(os.path.dirname(os.path.abspath(bench)), "langevin_bare_loop")
    if not os.access(exe, os.X_OK):
        raise FileNotFoundError(f"{exe} (CUDA builds only)")
    out = run_quietly([exe, "--n", str(n), "--steps", str(steps), "--repeats", str(repeats)])
    for line in out.splitlines():
        d = json.loads(line)
        if d["label"] == f"bare double_well euler_maruyama {precision}":
            return d["walker_steps_per_second"]
    raise RuntimeError(f"no {precision} line in {exe}'s output")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--bench", default=None,
                   help="path to langevin_bench (default: the first of build/, build-gpu/ and "
                        "build-cpu/ that has bench/langevin_bench)")
    p.add_argument("--device", choices=["cpu", "gpu"], default="cpu")
    p.add_argument("--n", type=int, default=None,
                   help="walkers (default: 2^20 on cpu, 2^24 on gpu)")
    p.add_argument("--steps", type=int, default=None,
                   help="steps per timed run, >= 100 (default: 100 on cpu, 1000 on gpu)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs (the median is reported)")
    p.add_argument("--precision", choices=["float32", "float64"], default="float32")
    args = p.parse_args()
    if args.bench is not None and not (os.path.isfile(args.bench) and
                                       os.access(args.bench, os.X_OK)):
        p.error(f"--bench {args.bench}: not an executable file (build/bench/langevin_bench)")
    if args.bench is None:
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        built = [os.path.join(root, d, "bench", "langevin_bench")
                 for d in ("build", "build-gpu", "build-cpu")]
        args.bench = next((b for b in built if os.access(b, os.X_OK)), None)
        if args.bench is None:
            p.error("--bench: no langevin_bench in " + ", ".join(built) +
                    " (build first: scripts/test.sh, or give --bench PATH)")
    n = args.n if args.n is not None else (1 << 20 if args.device == "cpu" else 1 << 24)
    steps = args.steps if args.steps is not None else (100 if args.device == "cpu" else 1000)
    if n < 1:
        p.error(f"--n {n}: must be >= 1")
    if args.repeats < 1:
        p.error(f"--repeats {args.repeats}: must be >= 1")
    if steps < 100:
        p.error(f"--steps {steps}: must be >= 100 (the sampled row takes a sample every 100 steps)")
    backend = "cpu" if args.device == "cpu" else "cuda"
    mine = ours(args.bench, backend, n, steps, args.repeats, args.precision, 0)
    mine_obs = ours(args.bench, backend, n, steps, args.repeats, args.precision, 100)
    if args.device == "cpu":
        peers = {"numpy": lambda: workload.numpy_peer(n, args.precision)}
    else:
        peers = {
            "torch.compile": lambda: workload.torch_peer(n, args.precision, True),
            "JAX jit": lambda: workload.jax_peer(n, args.precision),
            "CuPy": lambda: workload.cupy_peer(n, args.precision),
            "PyTorch eager": lambda: workload.torch_peer(n, args.precision, False),
        }
    rows, failed = [], []
    timings = {name: (lambda make=make: time_peer(make, n, steps, args.repeats))
               for name, make in peers.items()}
    if args.device == "gpu":
        timings = {"bare CUDA loop (FMA on)": lambda: bare_cuda_peer(
            args.bench, n, steps, args.repeats, args.precision), **timings}
    for name, timing in timings.items():
        try:
            rows.append((name, timing()))
        except (ImportError, FileNotFoundError, workload.Unavailable) as e:
            # a peer this machine lacks is reported, not fatal
            rows.append((name, None))
            print(f"{name}: unavailable ({type(e).__name__}: {e})", file=sys.stderr)
        except Exception as e:  # a peer that is there but fails is an error
            rows.append((name, None))
            failed.append(name)
            print(f"{name}: FAILED ({type(e).__name__}: {e})", file=sys.stderr)
    result = {"device": mine["device"], "date": mine["date"], "walkers": n, "steps": steps,
              "precision": args.precision, "ours": mine["walker_steps_per_second"],
              "ours_with_sampling_every_100": mine_obs["walker_steps_per_second"],
              "peers": {k: v for k, v in rows}}
    print(json.dumps(result))
    print(f"\n{mine['device']}, {mine['date']}: double well EM {args.precision}, N = {n}, "
          f"{steps} steps")
    print(f"{'':28s}{'walker-steps/s':>16s}{'ours/peer':>11s}{'ours+obs/peer':>15s}")
    print(f"{'langevin':28s}{mine['walker_steps_per_second']:16.3e}")
    print(f"{'langevin, sampling /100':28s}{mine_obs['walker_steps_per_second']:16.3e}")
    for name, rate in rows:
        if rate is None:
            print(f"{name:28s}{'n/a':>16s}")
        else:
            print(f"{name:28s}{rate:16.3e}{mine['walker_steps_per_second'] / rate:11.2f}"
                  f"{mine_obs['walker_steps_per_second'] / rate:15.2f}")
    if failed:
        sys.exit("failed: " + ", ".join(failed))


if __name__ == "__main__":
    main()
