"""Exits 0 when two langevin results files hold bitwise the same results (timings excluded).
With --attributes, every attribute must match too (the run's seconds and rate, and the output
file's own name in the stored configuration, excepted): a resumed run must also name the same
study and count the same chunks."""
import json
import sys

import h5py
import numpy as np

TIMINGS = {"seconds", "walker_steps_per_second"}


def contents(f, attributes):
    out = {}
    config = json.loads(f["parameters"].attrs["config_json"])
    own_name = config["output"]["file"]
    def neutral(value):  # the stored configuration names the file it was written to
        if isinstance(value, (bytes, str)) and own_name:
            text = value.decode() if isinstance(value, bytes) else value
            return text.replace(own_name, "<output>")
        return value
    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and not name.startswith("observables/run"):
            out[name] = obj[...]
        if attributes:
            for key, value in obj.attrs.items():
                if key not in TIMINGS:
                    out[f"{name}@{key}"] = np.asarray(neutral(value))
    if attributes:
        for key, value in f.attrs.items():
            out[f"@{key}"] = np.asarray(value)
    f.visititems(visit)
    return out


paths = [a for a in sys.argv[1:] if not a.startswith("--")]
attributes = "--attributes" in sys.argv[1:]
with h5py.File(paths[0], "r") as a, h5py.File(paths[1], "r") as b:
    da, db = contents(a, attributes), contents(b, attributes)
    assert da.keys() == db.keys(), set(da) ^ set(db)
    for name in da:
        x, y = da[name], db[name]
        # Bitwise: the same type, shape and bytes (so -0 differs from 0, and NaN payloads count).
        same = x.shape == y.shape and x.dtype == y.dtype and (
            np.ascontiguousarray(x).tobytes() == np.ascontiguousarray(y).tobytes()
            if x.dtype.kind != "O"
            else all(p == q for p, q in zip(x.ravel(), y.ravel())))
        if not same:
            sys.exit(f"differs: {name}: {x} vs {y}" if "@" in name else f"differs: {name}")
print(f"identical: {len(da)} {'datasets and attributes' if attributes else 'datasets'}")
