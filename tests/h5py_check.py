"""Reads a langevin results file with h5py, as a user would, and checks its H5MD layout."""
import json
import sys

import h5py
import numpy as np

def text(value):
    """Fixed-length HDF5 strings come back as bytes."""
    return value.decode() if isinstance(value, (bytes, np.bytes_)) else str(value)


path = sys.argv[1]
with h5py.File(path, "r") as f:
    assert list(f["h5md"].attrs["version"]) == [1, 1]
    assert text(f["h5md/creator"].attrs["name"]) == "langevin"
    config = json.loads(text(f["parameters"].attrs["config_json"]))
    walkers = config["ensemble"]["walkers"]
    # One number is a scalar attribute: h5py gives a number, not a 1-element array.
    run = f["observables/run"].attrs
    assert np.ndim(run["walkers"]) == 0 and int(run["walkers"]) == walkers, run["walkers"]
    assert all(np.ndim(v) == 0 for v in run.values()), dict(run)
    assert np.ndim(f["parameters"].attrs["seed"]) == 0
    h = f["observables/histograms/x0"]
    counts, edges = h["value"][...], h["edges_0"][...]
    assert counts.shape == (len(h["step"]), len(edges) - 1), counts.shape
    total = counts.sum(axis=1) + h["outside"][...] + h["nonfinite"][...]
    assert np.all(total == walkers), (total, walkers)
    assert h["boltzmann"].shape == counts.shape
    kl = f["observables/kl/value"][...]
    assert kl.shape == (len(h["step"]),)
    if "first_passage" in f["observables"]:
        fp = f["observables/first_passage"]
        assert fp["histogram"][...].sum() == fp.attrs["hits"]
    if "particles/trajectories" in f:
        pos = f["particles/trajectories/position/value"]
        assert pos.ndim == 3
        # H5MD 1.1 box: scalar integer dimension, one boundary string per dimension.
        box = f["particles/trajectories/box"].attrs
        assert box["dimension"].shape == () and int(box["dimension"]) == pos.shape[2]
        assert [text(b) for b in box["boundary"]] == ["none"] * pos.shape[2]
    print(f"ok: {path}: {counts.shape[0]} samples, {counts.shape[1]} bins, N = {walkers}")
