#!/usr/bin/env python3
"""An independent check of the first-passage reference `exact`: simulates the Euler-Maruyama
chain x' = x - E'(x) dt/gamma + sqrt(2 T dt/gamma) xi on kramers.toml's well E = (x^2 - 1)^2
(T = 0.5, gamma = 1, from x = -1 to x > 1, checked after every step) with numpy, and prints the
mean first-passage time with its standard error for each dt. The README quotes its output beside
what `langevin run data/examples/kramers.toml --set integrator.dt=...` prints as `exact`.
Each dt draws from its own generator, seeded by --seed and the dt's value, so a dt's result does
not depend on which other dt values are given or in what order.
Needs numpy; about 25 s for the defaults on 2 cores."""
import argparse
import math
import struct
import sys

try:
    import numpy as np
except ImportError:
    sys.exit(f"{sys.argv[0]}: needs numpy, which {sys.executable} does not have; run it with a "
             "Python that has numpy (Debian: /usr/bin/python3 with python3-numpy installed)")

# Every walker is followed for at most HORIZON time units (the mean first-passage time is ~10,
# so no walker of any feasible ensemble survives that long) in at most MAX_STEPS steps.
HORIZON = 1000.0
MAX_STEPS = 1_000_000
MIN_DT = HORIZON / MAX_STEPS


def mean_first_passage(dt, walkers, rng, T=0.5, gamma=1.0):
    x = np.full(walkers, -1.0)
    alive = np.arange(walkers)
    times = np.empty(walkers)
    noise = np.sqrt(2 * T * dt / gamma)
    steps = 0
    while alive.size:
        # NaN (an overflowing step) never passes x > 1: the horizon ends the loop regardless.
        if steps * dt >= HORIZON:
            sys.exit(f"dt = {dt:g}: {alive.size} walkers still short of x > 1 after {steps} "
                     f"steps (t = {steps * dt:g})")
        steps += 1
        x = x - 4 * x * (x * x - 1) * dt / gamma + noise * rng.standard_normal(x.size)
        hit = x > 1.0
        times[alive[hit]] = steps * dt
        alive, x = alive[~hit], x[~hit]
    return times.mean(), times.std(ddof=1) / np.sqrt(walkers)


def dt_rng(seed, dt):
    # Keyed by the dt's exact bits, not its position in --dt.
    bits = struct.unpack("<Q", struct.pack("<d", dt))[0]
    return np.random.default_rng(np.random.SeedSequence([seed, bits]))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--dt", type=float, nargs="+", default=[0.05, 0.02])
    p.add_argument("--walkers", type=int, default=2_000_000)
    p.add_argument("--seed", type=int, default=7)
    args = p.parse_args()
    for dt in args.dt:
        if not (math.isfinite(dt) and dt > 0):
            p.error(f"argument --dt: {dt:g}: must be a finite number > 0")
        if dt < MIN_DT:
            p.error(f"argument --dt: {dt:g}: must be at least {MIN_DT:g} (each walker is "
                    f"followed up to t = {HORIZON:g} in at most {MAX_STEPS} steps)")
    if args.walkers < 2:
        p.error(f"argument --walkers: {args.walkers}: must be at least 2 (the standard error "
                "needs two)")
    if args.seed < 0:
        p.error(f"argument --seed: {args.seed}: must be >= 0")
    for dt in args.dt:
        mean, se = mean_first_passage(dt, args.walkers, dt_rng(args.seed, dt))
        print(f"dt = {dt:g}: mean first-passage time {mean:.4f} +- {se:.4f} "
              f"({args.walkers} walkers)")


if __name__ == "__main__":
    main()
