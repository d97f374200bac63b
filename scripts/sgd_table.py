#!/usr/bin/env python3
"""Runs data/examples/sgd_sine.toml as gradient descent, constant-rate SGD and cooled SGD from
the same starts, then constant-rate SGD over batch sizes and learning rates, and prints the
README's SGD tables (markdown). Usage: scripts/sgd_table.py [BUILD_DIR] [--backend cpu|cuda]"""
import json
import os
import subprocess
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
args = [a for a in sys.argv[1:] if not a.startswith("--")]
backend = sys.argv[sys.argv.index("--backend") + 1] if "--backend" in sys.argv else "auto"
if backend in args:
    args.remove(backend)
langevin = os.path.join(args[0] if args else os.path.join(root, "build"), "langevin")
study = os.path.join(root, "data", "examples", "sgd_sine.toml")


def run(*sets):
    cmd = [langevin, "run", study, "--json", "--quiet", "--backend", backend]
    for s in sets:
        cmd += ["--set", s]
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


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
print("| run | global basin | " + " | ".join(f"basin {n}" for n in names) +
      " | mean final loss | best loss | T_eff at the end |")
print("|---|---|" + "---|" * len(names) + "---|---|---|")
for label, d in rows:
    s = d["samples"][-1]
    fractions = " | ".join(f"{b['empirical']:.4f}" for b in s["basins"])
    print(f"| {label} | {s['global_basin_fraction']:.4f} | {fractions} | "
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
