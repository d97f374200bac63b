#!/usr/bin/env python3
"""An independent check of the first-passage reference `exact`: simulates the Euler-Maruyama
chain x' = x - E'(x) dt/gamma + sqrt(2 T dt/gamma) xi on kramers.toml's well E = (x^2 - 1)^2
(T = 0.5, gamma = 1, from x = -1 to x > 1, checked after every step) with numpy, and prints the
mean first-passage time with its standard error for each dt. The README quotes its output beside
what `langevin run data/examples/kramers.toml --set integrator.dt=...` prints as `exact`.
Needs numpy; about 15 s for the defaults."""
import argparse

import numpy as np


def mean_first_passage(dt, walkers, rng, T=0.5, gamma=1.0):
    x = np.full(walkers, -1.0)
    alive = np.arange(walkers)
    times = np.empty(walkers)
    noise = np.sqrt(2 * T * dt / gamma)
    steps = 0
    while alive.size:
        steps += 1
        x = x - 4 * x * (x * x - 1) * dt / gamma + noise * rng.standard_normal(x.size)
        hit = x > 1.0
        times[alive[hit]] = steps * dt
        alive, x = alive[~hit], x[~hit]
    return times.mean(), times.std(ddof=1) / np.sqrt(walkers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dt", type=float, nargs="+", default=[0.05, 0.02])
    parser.add_argument("--walkers", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for dt in args.dt:
        mean, se = mean_first_passage(dt, args.walkers, rng)
        print(f"dt = {dt:g}: mean first-passage time {mean:.4f} +- {se:.4f} "
              f"({args.walkers} walkers)")


if __name__ == "__main__":
    main()
