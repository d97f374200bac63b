#!/usr/bin/env python3
"""Figures from langevin results files (HDF5, H5MD layout): `langevin plot OUT.h5 ...`.

The functions that pull numbers out of a file (load, histogram_density, convergence, annealing,
passage, trajectories, msd) are separate from the drawing, so tests check that what is drawn is
what the file holds.
"""
import argparse
import json
import math
import os
import sys
import textwrap

try:
    import numpy as np
    import h5py
except ImportError as e:  # pragma: no cover - depends on the machine
    sys.exit(f"langevin plot needs numpy and h5py ({e}): apt-get install python3-h5py "
             "(or pip install h5py)")


class PlotError(Exception):
    """A file that cannot be plotted, with the reason."""


FORMATS = ("png", "pdf", "svg")


def _attr(group, name, default=None):
    if name not in group.attrs:
        return default
    v = group.attrs[name]
    if isinstance(v, bytes):
        return v.decode()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, np.ndarray) and v.size == 1:  # files written before numbers were scalars
        return v.reshape(-1)[0].item()
    return v


def load(path):
    """Everything the figures need from one results file, as plain numpy arrays and dicts."""
    if not os.path.exists(path):
        raise PlotError(f"{path}: no such file")
    if os.path.isdir(path):
        raise PlotError(f"{path}: is a folder, not a results file")
    if not h5py.is_hdf5(path):
        raise PlotError(f"{path}: not an HDF5 file (langevin writes results with -o OUT.h5)")
    try:
        return _read(path)
    except (OSError, KeyError, ValueError) as e:
        # A truncated or damaged file opens (or not) and then lacks what langevin writes.
        raise PlotError(f"{path}: cannot be read as a langevin results file ({e})") from e


def _read(path):
    with h5py.File(path, "r") as f:
        if "observables" not in f or "parameters" not in f:
            raise PlotError(f"{path}: not a langevin results file (no /observables or "
                            "/parameters group; a checkpoint .partial cannot be plotted)")
        params = f["parameters"]
        config = json.loads(_attr(params, "config_json"))
        obs = f["observables"]
        run = {
            "shard": ((int(f["shard"].attrs["begin"]), int(f["shard"].attrs["end"]))
                      if "shard" in f else None),
            "path": path,
            "name": os.path.splitext(os.path.basename(path))[0],
            "config": config,
            "schedule": _attr(params, "schedule", ""),
            "backend": _attr(params, "backend", ""),
            "step": obs["bath_temperature/step"][...],
            "time": obs["bath_temperature/time"][...],
            "temperature": obs["bath_temperature/value"][...],
            "series": {},
            "histograms": {},
            "basins": None,
            "first_passage": None,
            "trajectories": None,
        }
        for name in obs:
            g = obs[name]
            if isinstance(g, h5py.Group) and "value" in g and name not in ("histograms", "basins"):
                run["series"][name] = g["value"][...]
        if "histograms" in obs:
            for name, g in obs["histograms"].items():
                h = {key: g[key][...] for key in g if isinstance(g[key], h5py.Dataset)}
                h["edges"] = [h.pop(f"edges_{a}") for a in range(2) if f"edges_{a}" in h]
                run["histograms"][name] = h
        if "basins" in obs:
            b = obs["basins"]
            run["basins"] = {
                "names": _attr(b, "names", "").split(","),
                "value": b["value"][...],
                "boltzmann": b["boltzmann"][...],
            }
        if "first_passage" in obs:
            g = obs["first_passage"]
            fp = {key: _attr(g, key) for key in g.attrs}
            fp["histogram"] = g["histogram"][...]
            fp["edges"] = g["edges"][...]
            run["first_passage"] = fp
        if "particles/trajectories/position" in f:
            p = f["particles/trajectories/position"]
            run["trajectories"] = {"time": p["time"][...], "position": p["value"][...]}
    run["walkers"] = config["ensemble"]["walkers"]
    run["dim"] = run["series"]["mean"].shape[1] if "mean" in run["series"] else 1
    return run


def is_sgd(run):
    return run["config"]["integrator"]["kind"] == "sgd"


def step_text(config):
    """dt, or for SGD the first learning rate (its schedule is in the run's schedule line)."""
    i = config["integrator"]
    return f"lr = {i['lr']:g}" if i["kind"] == "sgd" else f"dt = {i['dt']:g}"


def temperature_symbol(run):
    """SGD samples are compared at T + T_eff (SGLD bath plus mini-batch noise)."""
    return "T + T_eff" if is_sgd(run) else "T"


def title(run):
    """What the run was: potential, integrator, N, dt (or lr), schedule."""
    c = run["config"]
    text = (f"{c['potential']['kind']}, {c['integrator']['kind']}, N = {run['walkers']:,}, "
            f"{step_text(c)}, {run['schedule']}")
    return "\n".join(textwrap.wrap(text, 95))


def annealed(run):
    """Whether the temperature changes during the run."""
    t = run["temperature"]
    return t.size > 1 and not np.all(t == t[0])


def histogram_density(run, name, k):
    """Sample k of histogram `name`: bin centres per axis, empirical density (counts / N / bin
    volume: walkers outside the grid are not in it) and Boltzmann density (NaN: n/a)."""
    h = run["histograms"][name]
    counts = h["value"][k].astype(float)
    edges = h["edges"]
    volume = np.prod([e[1] - e[0] for e in edges])
    total = counts.sum() + h["outside"][k] + h["nonfinite"][k]
    centres = [0.5 * (e[1:] + e[:-1]) for e in edges]
    boltzmann = h["boltzmann"][k] / volume
    inside = counts.sum() / total if total else 0.0
    # The reference is normalised over the grid: scale it by the share found inside.
    return centres, counts / total / volume if total else counts, boltzmann * inside


def convergence(run):
    """step, KL, TV, T (KL/TV NaN where there is no Boltzmann reference)."""
    s = run["series"]
    return run["step"], s["kl"], s["tv"], run["temperature"]


def annealing(run):
    """step, global-basin fraction, its Boltzmann value at the sample's T, best energy."""
    s = run["series"]
    return (run["step"], s["global_basin_fraction"], s["global_basin_boltzmann"],
            s["best_energy"])


def msd(run):
    """time, mean-square displacement, Einstein's 2 D (T / friction) t (NaN if annealed)."""
    return run["time"], run["series"]["msd"], run["series"]["msd_einstein"]


def passage(run):
    """survival (time, S) and the passage-time histogram (edges, density) with references."""
    fp = run["first_passage"]
    hist = fp["histogram"].astype(float)
    width = fp["edges"][1] - fp["edges"][0]
    density = hist / (hist.sum() * width) if hist.sum() else hist
    return {
        "time": np.concatenate([[0.0], run["time"]]),
        "survival": np.concatenate([[1.0], run["series"]["survival"]]),
        "edges": fp["edges"], "density": density,
        "mean": fp["mean"], "standard_error": fp["standard_error"], "exact": fp["exact"],
        "kramers": fp["kramers"], "hits": fp["hits"], "censored": fp["censored"],
    }


def trajectories(run):
    """time [R] and positions [R, M, D] of the recorded walkers."""
    t = run["trajectories"]
    return t["time"], t["position"]


# ---------------------------------------------------------------------------------------------
# Drawing

def _pyplot():
    try:
        import matplotlib
    except ImportError as e:
        raise PlotError(f"matplotlib is missing ({e}): apt-get install python3-matplotlib "
                        "(or pip install matplotlib)")
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _sample_picks(k, most=4):
    """Up to `most` sample indices spread over the run, the last included."""
    if k <= most:
        return list(range(k))
    return sorted({int(round(i * (k - 1) / (most - 1))) for i in range(most)})


def _finite(a):
    return np.isfinite(np.asarray(a, dtype=float))


def figure_histogram(plt, run):
    h = run["histograms"]
    k = len(run["step"])
    if "joint" in h:
        centres, emp, boltz = histogram_density(run, "joint", k - 1)
        joint = h["joint"]
        panels = [("empirical", emp)]
        if np.any(_finite(boltz)):
            panels.append(("Boltzmann", boltz))
        fig, axes = plt.subplots(1, len(panels), figsize=(5.2 * len(panels), 4.4), squeeze=False)
        extent = [joint["edges"][0][0], joint["edges"][0][-1], joint["edges"][1][0],
                  joint["edges"][1][-1]]
        vmax = np.nanmax([np.nanmax(p) for _, p in panels])
        for ax, (label, dens) in zip(axes[0], panels):
            im = ax.imshow(dens.T, origin="lower", extent=extent, aspect="auto", cmap="viridis",
                           vmin=0, vmax=vmax)
            if "energy" in joint and np.ptp(joint["energy"]) > 0:
                e = joint["energy"]
                levels = np.quantile(e, np.linspace(0.02, 0.6, 10))
                ax.contour(centres[0], centres[1], e.T, levels=np.unique(levels), colors="w",
                           linewidths=0.6, alpha=0.7)
            if "basin" in joint and run["basins"] is not None and joint["basin"].max() >= 0:
                b = joint["basin"]
                e = joint["energy"]
                for i, name in enumerate(run["basins"]["names"]):
                    mask = b == i
                    if mask.any():
                        idx = np.unravel_index(np.argmin(np.where(mask, e, np.inf)), e.shape)
                        ax.plot(centres[0][idx[0]], centres[1][idx[1]], "r+", ms=10)
                        ax.annotate(name, (centres[0][idx[0]], centres[1][idx[1]]), color="r",
                                    xytext=(4, 4), textcoords="offset points", fontsize=8)
            ax.set_xlabel("$x_0$")
            ax.set_ylabel("$x_1$")
            ax.set_title(f"{label} density, step {run['step'][-1]}, {temperature_symbol(run)} = "
                         f"{run['temperature'][-1]:.3g}", fontsize=9)
            fig.colorbar(im, ax=ax, label="p(x)")
    else:
        dims = sorted(n for n in h if n.startswith("x"))[:4]
        width = 7.0 if len(dims) == 1 else 5.2 * len(dims)
        fig, axes = plt.subplots(1, len(dims), figsize=(width, 4.4), squeeze=False)
        picks = _sample_picks(k) if len(dims) == 1 else [k - 1]
        colors = plt.cm.plasma(np.linspace(0.1, 0.8, len(picks)))
        for ax, name in zip(axes[0], dims):
            for color, s in zip(colors, picks):
                (x,), emp, boltz = histogram_density(run, name, s)
                width = x[1] - x[0]
                label = (f"step {run['step'][s]}, {temperature_symbol(run)} = "
                         f"{run['temperature'][s]:.3g}")
                ax.bar(x, emp, width=width, color=color, alpha=0.35, label=label)
                if np.any(_finite(boltz)):
                    ax.plot(x, boltz, color=color, lw=1.5)
            ax.set_ylabel("density")
            ref = "exp(-L/(T+T_eff))" if is_sgd(run) else "Boltzmann"
            ax.set_xlabel("parameter $w$" if is_sgd(run) else f"${name[0]}_{name[1:]}$")
            ax.legend(fontsize=7, title=f"bars: walkers; lines: {ref}", title_fontsize=7)
    fig.suptitle(title(run), fontsize=9)
    fig.tight_layout()
    return fig


def figure_convergence(plt, run):
    step, kl, tv, temp = convergence(run)
    ok = _finite(kl) & (step > 0)
    if not ok.any():
        return None
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(step[ok], np.maximum(kl[ok], 1e-12), "o-", label="KL(empirical || Boltzmann)")
    ax.loglog(step[ok], np.maximum(tv[ok], 1e-12), "s-", label="TV distance")
    ax.set_xlabel("step")
    ax.set_ylabel(f"distance from Boltzmann at the sample's {temperature_symbol(run)}")
    if annealed(run):
        ax2 = ax.twinx()
        ax2.semilogx(step[step > 0], temp[step > 0], "k--", lw=1, label="T")
        ax2.set_ylabel(f"temperature {temperature_symbol(run)} (dashed)")
    ax.legend(fontsize=8, loc="lower left")
    ax.set_title(title(run), fontsize=8)
    fig.tight_layout()
    return fig


def figure_annealing(plt, runs):
    usable = [r for r in runs if np.any(_finite(annealing(r)[1])) or
              np.any(_finite(annealing(r)[3]))]
    if not usable:
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    for r in usable:
        step, frac, boltz, best = annealing(r)
        label = r["schedule"] if len(usable) == 1 else f"{r['name']}: {r['schedule']}"
        label = "\n".join(textwrap.wrap(label, 60))
        ok = step > 0
        line, = a1.semilogx(step[ok], frac[ok], "o-", ms=3, label=label)
        if np.any(_finite(boltz)):
            a1.semilogx(step[ok], boltz[ok], "--", color=line.get_color(), lw=1)
        a2.semilogx(step[ok], best[ok], "o-", ms=3, color=line.get_color(), label=label)
    sgd = any(is_sgd(r) for r in usable)
    a1.set_xlabel("step")
    a1.set_ylabel("fraction of runs in the global minimum's basin\n(dashed: Boltzmann at T + T_eff)"
                  if sgd else "fraction in the global basin (dashed: Boltzmann at T)")
    a1.set_ylim(0, 1.02)
    a2.set_xlabel("step")
    a2.set_ylabel("best loss found" if sgd else "best energy found")
    a2.ticklabel_format(axis="y", useOffset=False)
    a1.legend(fontsize=6, loc="best")
    c = usable[0]["config"]
    what = "GD / SGD / cooled SGD" if sgd else "annealing"
    fig.suptitle(f"{what}: {c['potential']['kind']}, {c['integrator']['kind']}, "
                 f"N = {usable[0]['walkers']:,}, {step_text(c)}", fontsize=9)
    fig.tight_layout()
    return fig


def figure_motion(plt, run):
    """Recorded trajectories (if any) and the MSD against Einstein's law (constant T)."""
    t, m, einstein = msd(run)
    has_traj = run["trajectories"] is not None
    has_einstein = np.any(_finite(einstein))
    if not has_traj and not (has_einstein and run["config"]["potential"]["kind"] == "free"):
        return None
    panels = int(has_traj) + 1
    fig, axes = plt.subplots(1, panels, figsize=(5.2 * panels, 4.4), squeeze=False)
    if has_traj:
        ax = axes[0][0]
        tt, pos = trajectories(run)
        for w in range(pos.shape[1]):
            if pos.shape[2] >= 2:
                ax.plot(pos[:, w, 0], pos[:, w, 1], lw=0.7)
                ax.plot(pos[0, w, 0], pos[0, w, 1], "ko", ms=3)
                ax.set_xlabel("$x_0$")
                ax.set_ylabel("$x_1$")
                ax.set_aspect("equal", adjustable="datalim")
            else:
                ax.plot(tt, pos[:, w, 0], lw=0.7)
                ax.set_xlabel("time t")
                ax.set_ylabel("$x$")
        ax.set_title(f"{pos.shape[1]} recorded walkers", fontsize=9)
    ax = axes[0][-1]
    ax.plot(np.concatenate([[0], t]), np.concatenate([[0], m]), "o", ms=4,
            label="walkers: mean $|x - x_0|^2$")
    if has_einstein:
        underdamped = run["config"]["integrator"]["kind"] == "baoab"  # friction is a rate
        ax.plot(np.concatenate([[0], t]), np.concatenate([[0], einstein]), "k-", lw=1,
                label="Einstein " + ("$2D\\,T/(m\\gamma)\\,t$" if underdamped
                                     else "$2D(T/\\gamma)t$"))
    exact = run["series"].get("msd_exact")  # free motion: the integrator's own law at its dt
    if exact is not None and np.all(_finite(exact)) and not np.allclose(exact, einstein):
        ax.plot(np.concatenate([[0], t]), np.concatenate([[0], exact]), "r--", lw=1,
                label=f"exact for {run['config']['integrator']['kind']} at this dt")
    ax.set_xlabel("time t")
    ax.set_ylabel("mean-square displacement")
    ax.legend(fontsize=8)
    fig.suptitle(title(run), fontsize=9)
    fig.tight_layout()
    return fig


def figure_passage(plt, run):
    if run["first_passage"] is None:
        return None
    p = passage(run)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    a1.plot(p["time"], p["survival"], "o-", ms=3)
    a1.set_yscale("log")
    a1.set_xlabel("time t")
    a1.set_ylabel("survival S(t): share not yet at the target")
    centres = 0.5 * (p["edges"][1:] + p["edges"][:-1])
    a2.bar(centres, p["density"], width=p["edges"][1] - p["edges"][0], alpha=0.5,
           label=f"walkers ({p['hits']:,} hit, {p['censored']:,} censored)")
    for key, style, label in (("mean", "b-", "measured MFPT"), ("exact", "k--", "exact MFPT"),
                              ("kramers", "r:", "Kramers 1/k")):
        v = p[key]
        if v is not None and math.isfinite(v):
            a2.axvline(v, color=style[0], ls=style[1:], label=f"{label} = {v:.4g}")
    a2.set_xlabel("first-passage time")
    a2.set_ylabel("density")
    a2.legend(fontsize=7)
    fig.suptitle(title(run), fontsize=9)
    fig.tight_layout()
    return fig


def plot(paths, out_dir=".", fmt="png", dpi=100):
    """Writes every figure that fits the files; returns the paths written."""
    if fmt not in FORMATS:
        raise PlotError(f"--format {fmt}: want one of {', '.join(FORMATS)}")
    runs = [load(p) for p in paths]
    # Files of one name in different folders (a/x.h5, b/x.h5) get their folder in the figure
    # names, so that no figure replaces another.
    names = [r["name"] for r in runs]
    for r in runs:
        if names.count(r["name"]) > 1:
            folder = os.path.basename(os.path.dirname(os.path.abspath(r["path"])))
            r["name"] = f"{folder}_{r['name']}"
    seen = {}
    for r in runs:  # the same file given twice, or folders of one name
        seen[r["name"]] = seen.get(r["name"], 0) + 1
        if seen[r["name"]] > 1:
            r["name"] += f"_{seen[r['name']]}"
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise PlotError(f"--out {out_dir}: is a file, not a folder")
    plt = _pyplot()
    try:
        os.makedirs(out_dir, exist_ok=True)
    except OSError as e:
        raise PlotError(f"--out {out_dir}: cannot make the folder ({e.strerror})") from e
    written = []

    made = {id(r): 0 for r in runs}  # figures drawn from each file

    def save(fig, name, *sources):
        if fig is None:
            return
        for r in sources:
            made[id(r)] += 1
        path = os.path.join(out_dir, f"{name}.{fmt}")
        try:
            fig.savefig(path, dpi=dpi)
        except OSError as e:
            raise PlotError(f"{path}: cannot write it ({e.strerror or e})") from e
        finally:
            plt.close(fig)
        written.append(path)

    # Annealing runs of the same potential share one figure (several schedules side by side).
    groups = {}
    for r in runs:
        if annealed(r) or len(runs) > 1:
            key = json.dumps(r["config"]["potential"], sort_keys=True)
            groups.setdefault(key, []).append(r)
    for r in runs:
        if r["histograms"]:
            save(figure_histogram(plt, r), f"{r['name']}_histogram", r)
        save(figure_convergence(plt, r), f"{r['name']}_convergence", r)
        save(figure_motion(plt, r), f"{r['name']}_motion", r)
        save(figure_passage(plt, r), f"{r['name']}_first_passage", r)
    for group in groups.values():
        # SGD runs of one loss given together (GD / SGD / cooled SGD) always share a figure.
        if any(annealed(r) for r in group) or (len(group) > 1 and any(is_sgd(r) for r in group)):
            save(figure_annealing(plt, group),
                 "_vs_".join(r["name"] for r in group) + "_annealing", *group)
    for r in runs:  # a file that gave no figure is an error, not silence
        if made[id(r)] == 0:
            if r["shard"] is not None and r["shard"][0] == r["shard"][1]:
                raise PlotError(f"{r['path']}: a shard with no walkers (its block of the "
                                "study's walkers is empty): nothing to plot; merge the shards "
                                "(langevin merge) and plot the merged file")
            raise PlotError(f"{r['path']}: nothing in it to plot")
    return written


def main(argv=None):
    ap = argparse.ArgumentParser(prog="langevin plot",
                                 description="figures from langevin results files")
    ap.add_argument("files", nargs="+", help="results files (langevin run ... -o OUT.h5)")
    ap.add_argument("--out", default=".", help="folder for the figures (default: .)")
    ap.add_argument("--format", default="png", help="png | pdf | svg (default: png)")
    ap.add_argument("--dpi", type=int, default=100, help="resolution of png figures")
    args = ap.parse_args(argv)
    try:
        for path in plot(args.files, args.out, args.format, args.dpi):
            print(path)
    except PlotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
