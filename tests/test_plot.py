"""`langevin plot`: small outputs of each study kind give non-empty figures, and the numbers the
figures draw are the ones in the file (read here independently with h5py).

Run by ctest: python3 tests/test_plot.py LANGEVIN EXAMPLES_DIR
"""
import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import h5py
import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import langevin_plot as lp  # noqa: E402

LANGEVIN, EXAMPLES = sys.argv[1], sys.argv[2]
TMP = tempfile.mkdtemp(prefix="langevin_plot_")
atexit.register(shutil.rmtree, TMP, True)

# Each study kind, small: 1-D constant T, 2-D with a joint histogram and basins, annealing (two
# schedules), Brownian motion with trajectories, first passage.
STUDIES = {
    "double_well": ["--set", "ensemble.walkers=8192", "--set", "run.steps=400",
                    "--set", "run.sample_every=100"],
    "muller_brown": ["--set", "ensemble.walkers=4096", "--set", "run.steps=300",
                     "--set", "run.sample_every=100"],
    "anneal_double_well": ["--set", "ensemble.walkers=4096", "--set", "run.steps=2000"],
    "brownian": ["--set", "ensemble.walkers=4096", "--set", "run.steps=200",
                 "--set", "run.sample_every=50"],
    "kramers": ["--set", "ensemble.walkers=4096", "--set", "run.steps=5000"],
    "sgd_sine": ["--set", "ensemble.walkers=4096", "--set", "run.steps=400"],
}


def produce(name, extra=(), out=None):
    out = out or os.path.join(TMP, f"{name}.h5")
    subprocess.run([LANGEVIN, "run", os.path.join(EXAMPLES, f"{name}.toml"), "--quiet",
                    "--backend", "cpu", "--force", "-o", out, *STUDIES[name], *extra],
                   check=True, stdout=subprocess.DEVNULL)
    return out


FILES = {name: produce(name) for name in STUDIES}
FILES["gd"] = produce("sgd_sine", ["--set", "integrator.batch=200"], os.path.join(TMP, "gd.h5"))
FILES["quench"] = produce("anneal_double_well", [
    "--set", "temperature.kind=geometric", "--set", "temperature.T0=1.4427",
    "--set", "temperature.T1=0.05", "--set", "temperature.steps=200"],
    os.path.join(TMP, "quench.h5"))


class Extraction(unittest.TestCase):
    def test_histogram_density_is_the_files_counts(self):
        run = lp.load(FILES["double_well"])
        with h5py.File(FILES["double_well"]) as f:
            h = f["observables/histograms/x0"]
            counts, edges = h["value"][2], h["edges_0"][...]
            boltz = h["boltzmann"][2]
            n = counts.sum() + h["outside"][2] + h["nonfinite"][2]
        (x,), emp, ref = lp.histogram_density(run, "x0", 2)
        width = edges[1] - edges[0]
        np.testing.assert_array_equal(x, 0.5 * (edges[1:] + edges[:-1]))
        np.testing.assert_allclose(emp * width * n, counts, rtol=1e-12)
        self.assertEqual(n, 8192)
        np.testing.assert_allclose(ref * width, boltz * counts.sum() / n, rtol=1e-12)
        # Densities integrate to the share inside the grid.
        self.assertAlmostEqual(emp.sum() * width, counts.sum() / n, places=12)

    def test_joint_density_and_potential_map(self):
        run = lp.load(FILES["muller_brown"])
        with h5py.File(FILES["muller_brown"]) as f:
            j = f["observables/histograms/joint"]
            counts = j["value"][-1]
            e0, e1 = j["edges_0"][...], j["edges_1"][...]
            energy, basin = j["energy"][...], j["basin"][...]
        (x, y), emp, _ = lp.histogram_density(run, "joint", -1)
        area = (e0[1] - e0[0]) * (e1[1] - e1[0])
        self.assertEqual(emp.shape, counts.shape)
        np.testing.assert_allclose(emp * area * 4096, counts, rtol=1e-12)
        self.assertEqual((len(x), len(y)), counts.shape)
        # Müller-Brown: three basins, the global minimum A (-146.7) near (-0.558, 1.442).
        self.assertEqual(set(np.unique(basin)), {0, 1, 2})
        i, k = np.unravel_index(np.argmin(energy), energy.shape)
        self.assertEqual(basin[i, k], 0)
        self.assertLess(abs(x[i] + 0.558), 0.06)
        self.assertLess(abs(y[k] - 1.442), 0.06)

    def test_convergence_and_annealing_series(self):
        for name in ("double_well", "anneal_double_well"):
            run = lp.load(FILES[name])
            with h5py.File(FILES[name]) as f:
                o = f["observables"]
                step, kl, tv, t = lp.convergence(run)
                np.testing.assert_array_equal(step, o["kl/step"][...])
                np.testing.assert_array_equal(kl, o["kl/value"][...])
                np.testing.assert_array_equal(tv, o["tv/value"][...])
                np.testing.assert_array_equal(t, o["bath_temperature/value"][...])
                _, frac, boltz, best = lp.annealing(run)
                np.testing.assert_array_equal(frac, o["global_basin_fraction/value"][...])
                np.testing.assert_array_equal(boltz, o["global_basin_boltzmann/value"][...])
                np.testing.assert_array_equal(best, o["best_energy/value"][...])
        self.assertTrue(lp.annealed(lp.load(FILES["anneal_double_well"])))
        self.assertFalse(lp.annealed(lp.load(FILES["double_well"])))

    def test_motion_and_passage(self):
        run = lp.load(FILES["brownian"])
        t, pos = lp.trajectories(run)
        with h5py.File(FILES["brownian"]) as f:
            np.testing.assert_array_equal(pos, f["particles/trajectories/position/value"][...])
            np.testing.assert_array_equal(lp.msd(run)[1], f["observables/msd/value"][...])
            np.testing.assert_array_equal(lp.msd(run)[2], f["observables/msd_einstein/value"][...])
            # Free Euler-Maruyama motion: its exact law is Einstein's line.
            np.testing.assert_allclose(f["observables/msd_exact/value"][...],
                                       f["observables/msd_einstein/value"][...], rtol=1e-12)
        self.assertEqual(pos.shape, (41, 5, 2))  # 200 steps / 5 + 1 records, 5 walkers, 2-D
        self.assertEqual(t[-1], 2.0)
        run = lp.load(FILES["kramers"])
        p = lp.passage(run)
        with h5py.File(FILES["kramers"]) as f:
            g = f["observables/first_passage"]
            self.assertEqual(p["exact"], g.attrs["exact"])
            self.assertEqual(p["mean"], g.attrs["mean"])
            self.assertEqual(p["hits"] + p["censored"], 4096)
            hist = g["histogram"][...]
            np.testing.assert_allclose(p["density"] * hist.sum() * np.diff(p["edges"])[0], hist)
            np.testing.assert_array_equal(p["survival"][1:], f["observables/survival/value"][...])
        self.assertEqual(p["survival"][0], 1.0)

    def test_sgd_runs_are_compared_at_the_effective_temperature(self):
        run = lp.load(FILES["sgd_sine"])
        with h5py.File(FILES["sgd_sine"]) as f:
            t_eff = f["observables/sgd"].attrs["t_eff_per_lr"] * 0.3  # lr = 0.3, T = 0
            np.testing.assert_allclose(run["temperature"], t_eff, rtol=1e-12)
            np.testing.assert_array_equal(lp.annealing(run)[1],
                                          f["observables/global_basin_fraction/value"][...])
        self.assertTrue(lp.is_sgd(run))
        self.assertEqual(lp.temperature_symbol(run), "T + T_eff")
        for part in ("sine_fit", "sgd", "lr = 0.3", "SGD B = 1 of n = 200"):
            self.assertIn(part, lp.title(run))
        self.assertIn("full batch", lp.title(lp.load(FILES["gd"])))

    def test_title_says_what_the_run_was(self):
        title = lp.title(lp.load(FILES["anneal_double_well"]))
        for part in ("double_well", "euler_maruyama", "N = 4,096", "dt = 0.05", "logarithmic"):
            self.assertIn(part, title)


class Figures(unittest.TestCase):
    def test_each_study_kind_gives_its_figures(self):
        out = os.path.join(TMP, "figs")
        written = lp.plot([FILES[n] for n in STUDIES], out, "png", dpi=40)
        names = {os.path.basename(p) for p in written}
        for want in ("double_well_histogram.png", "double_well_convergence.png",
                     "muller_brown_histogram.png", "anneal_double_well_convergence.png",
                     "brownian_motion.png", "kramers_first_passage.png"):
            self.assertIn(want, names)
        self.assertTrue(any(n.endswith("_annealing.png") for n in names))
        self.assertNotIn("brownian_convergence.png", names)  # no Boltzmann law for E = 0
        for p in written:
            self.assertGreater(os.path.getsize(p), 2000, p)
            with open(p, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")

    def test_cli_plots_two_schedules_in_one_figure(self):
        out = os.path.join(TMP, "cli")
        r = subprocess.run([LANGEVIN, "plot", FILES["anneal_double_well"], FILES["quench"],
                            "--out", out, "--format", "svg"], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        combined = os.path.join(out, "anneal_double_well_vs_quench_annealing.svg")
        self.assertIn(combined, r.stdout.split())
        with open(combined) as f:
            svg = f.read()
        self.assertIn("<svg", svg)
        self.assertIn("geometric", svg)  # the legend names both schedules
        self.assertIn("logarithmic", svg)

    def test_gd_and_sgd_share_one_comparison_figure(self):
        out = os.path.join(TMP, "sgd")
        written = lp.plot([FILES["gd"], FILES["sgd_sine"]], out, "png", dpi=40)
        names = {os.path.basename(p) for p in written}
        self.assertIn("gd_vs_sgd_sine_annealing.png", names)
        self.assertIn("sgd_sine_histogram.png", names)
        self.assertIn("sgd_sine_convergence.png", names)

    def test_clear_errors(self):
        missing = os.path.join(TMP, "missing.h5")
        with self.assertRaisesRegex(lp.PlotError, "no such file"):
            lp.load(missing)
        text = os.path.join(TMP, "notes.txt")
        with open(text, "w") as f:
            f.write("not hdf5")
        with self.assertRaisesRegex(lp.PlotError, "not an HDF5 file"):
            lp.load(text)
        other = os.path.join(TMP, "other.h5")
        with h5py.File(other, "w") as f:
            f["x"] = 1
        with self.assertRaisesRegex(lp.PlotError, "not a langevin results file"):
            lp.load(other)
        r = subprocess.run([LANGEVIN, "plot", missing], capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("missing.h5: no such file", r.stderr)
        with self.assertRaisesRegex(lp.PlotError, "want one of png, pdf, svg"):
            lp.plot([FILES["kramers"]], TMP, "gif")
        # A truncated results file, and --out naming a file: errors, not tracebacks.
        truncated = os.path.join(TMP, "truncated.h5")
        with open(FILES["kramers"], "rb") as f, open(truncated, "wb") as g:
            g.write(f.read(4096))
        r = subprocess.run([LANGEVIN, "plot", truncated, "--out", TMP], capture_output=True,
                           text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("truncated.h5: cannot be read as a langevin results file", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        r = subprocess.run([LANGEVIN, "plot", FILES["kramers"], "--out", text],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("notes.txt: is a file, not a folder", r.stderr)
        self.assertNotIn("Traceback", r.stderr)
        # A plotting script that is not there: status 1 and error:, not Python's status 2.
        env = dict(os.environ, LANGEVIN_PLOT_SCRIPT=os.path.join(TMP, "nope.py"))
        r = subprocess.run([LANGEVIN, "plot", FILES["kramers"], "--out", TMP],
                           capture_output=True, text=True, env=env)
        self.assertEqual(r.returncode, 1)
        self.assertIn("error: plot: cannot read the plotting script", r.stderr)
        self.assertIn("LANGEVIN_PLOT_SCRIPT", r.stderr)
        # An empty shard (8 shards of one block of 4096 walkers: shard 0 holds none) gives no
        # figure: an error that says so, not silence and status 0.
        empty = os.path.join(TMP, "empty_shard.h5")
        subprocess.run([LANGEVIN, "run", os.path.join(EXAMPLES, "double_well.toml"), "--quiet",
                        "--backend", "cpu", "--force", "-o", empty, "--shard", "0/8",
                        "--set", "ensemble.walkers=4096",
                        "--set", "run.steps=100", "--set", "run.sample_every=50"],
                       check=True, stdout=subprocess.DEVNULL)
        r = subprocess.run([LANGEVIN, "plot", empty, "--out", os.path.join(TMP, "empty")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("empty_shard.h5: a shard with no walkers", r.stderr)

    def test_files_of_one_name_in_two_folders_keep_their_own_figures(self):
        copies = []
        for folder in ("a", "b"):
            os.makedirs(os.path.join(TMP, folder), exist_ok=True)
            copies.append(os.path.join(TMP, folder, "x.h5"))
            shutil.copy(FILES["kramers"], copies[-1])
        out = os.path.join(TMP, "twins")
        written = lp.plot(copies + [copies[0]], out, "png", dpi=40)
        names = [os.path.basename(p) for p in written]
        self.assertEqual(len(names), len(set(names)), names)
        for want in ("a_x_first_passage.png", "b_x_first_passage.png",
                     "a_x_2_first_passage.png"):
            self.assertIn(want, names)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1], verbosity=2)
