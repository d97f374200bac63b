#!/usr/bin/env python3
"""Runs data/examples/sgd_sine.toml as gradient descent, constant-rate SGD and cooled SGD from
the same starts, then constant-rate SGD over batch sizes and learning rates, and prints the
README's SGD tables (markdown). Usage: scripts/sgd_table.py [BUILD_DIR] [--backend auto|cpu|cuda]"""
import argparse
import json
import os
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
parser = argparse.ArgumentParser(description=__doc__.split(" Usage:")[0])
parser.add_argument("build_dir", nargs="?", default=os.path.join(root, "build"),
                    metavar="BUILD_DIR", help="folder holding langevin (default: build)")
parser.add_argument("--backend", choices=("auto", "cpu", "cuda"), default="auto")
opts = parser.parse_args()
backend = opts.backend
langevin = os.path.join(opts.build_dir, "langevin")
if not os.access(langevin, os.X_OK):
    sys.exit(f"{parser.prog}: no {langevin}: build first (scripts/test.sh)")
study = os.path.join(root, "data", "examples", "sgd_sine.toml")


def run(*sets):
    cmd = [langevin, "run", study, "--json", "--quiet", "--backend", backend]
    for s in sets:
        cmd += ["--set", s]
    # langevin's stderr is not captured: its own error message reaches the terminal.
    r = subprocess.run(cmd, stdout=subprocess.PIPE, text=True)
    if r.returncode != 0:
        sys.exit(f"{parser.prog}: langevin run exited with {r.returncode}: {' '.join(cmd)}")
    return json.loads(r.stdout)


def fmt(v, p=3):
    return "n/a" if v is None else f"{v:.{p}g}"


rows = [("full-batch GD (B = n = 200)", run("integrator.batch=200")),
        ("constant-rate SGD, B = 1, lr = 0.3", run()),
        ("SGD, lr 0.3 -> 0.01 geometric", run("integrator.lr_schedule=geometric",
                                              "integrator.lr_final=0.01")),
        ("SGD, lr 0.3 ln 2 / ln(n + 2)", run("integrator.lr_schedule=logarithmic"))]
doc = rows[0][1]
print(f"Sine fit, {doc['walkers']:,} runs x {doc['steps']} steps from the same uniform starts on "
      f"[-1, 5.5]; backend {doc['backend']} ({doc['device']}).\n")
names = [b["name"] for b in doc["samples"][-1]["basins"]]
# The basins are those of [-1, 5.5]: a run that escaped the range is in none of them.
print("| run | global basin | " + " | ".join(f"basin {n}" for n in names) +
      " | outside [-1, 5.5] | mean final loss | best loss | T_eff at the end |")
print("|---|---|" + "---|" * len(names) + "---|---|---|---|")
for label, d in rows:
    s = d["samples"][-1]
    fractions = " | ".join(f"{b['empirical']:.4f}" for b in s["basins"])
    outside = s["histograms"][0]["outside"] / d["walkers"]
    print(f"| {label} | {s['global_basin_fraction']:.4f} | {fractions} | {outside:.4f} | "
          f"{s['mean_energy']:.4f} | {s['best_energy']:.4f} | {fmt(s['T'])} |")

print("\nConstant-rate SGD at the end of the run against exp(-L / T_eff) "
      "(T_eff = lr tr C / (2B)):\n")
print("| B | lr | T_eff | KL | TV | global basin (Boltzmann) | mean loss (Boltzmann) |")
print("|---|---|---|---|---|---|---|")
for b in (1, 4, 16):
    for lr in (0.1, 0.3):
        s = run(f"integrator.batch={b}", f"integrator.lr={lr}")["samples"][-1]
        print(f"| {b} | {lr} | {fmt(s['T'])} | {fmt(s['kl'])} | {fmt(s['tv'])} | "
              f"{s['global_basin_fraction']:.4f} ({fmt(s['global_basin_boltzmann'], 4)}) | "
              f"{s['mean_energy']:.4f} ({fmt(s['boltzmann_mean_energy'], 4)}) |")
