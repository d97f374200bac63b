// Results (H5MD 1.1 layout) and checkpoints in HDF5.
#include "langevin/output.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "io/hdf5.hpp"
#include "langevin/boltzmann.hpp"
#include "langevin/config.hpp"

#ifndef LGV_VERSION
#define LGV_VERSION "0"
#endif

namespace langevin {
namespace {

using h5::Group;

/// 2: exact sums (ExactSum digits) and shard attributes.
constexpr std::uint64_t kCheckpointFormat = 2;

void metadata(const Group &root, const Study &study) {
    const Group h5md = root.group("h5md");
    h5md.attr("version", std::vector<std::int32_t>{1, 1});
    const char *user = std::getenv("USER");
    h5md.group("author").attr("name", std::string(user ? user : "unknown"));
    const Group creator = h5md.group("creator");
    creator.attr("name", std::string("langevin"));
    creator.attr("version", std::string(LGV_VERSION));
    const Group params = root.group("parameters");
    params.attr("config_json", study.resolved_json);
    params.attr("config_toml", study.resolved_toml);
    params.attr("source", study.source);
    params.attr("seed", std::uint64_t(study.model.seed));
    params.attr("schedule", schedule_text(study));
    if (study.model.data)
        params.attr("data_fingerprint", data_fingerprint(*study.model.data));
}

/// Refuses a stored run whose [data] pairs differ from the ones its study reads now (the file
/// was edited or replaced since): resuming or merging would mix two data sets.
void check_data_unchanged(const Group &params, const Study &study, const std::string &path) {
    if (!study.model.data || !params.has_attr("data_fingerprint"))
        return; // no data, or a file written before fingerprints
    LGV_REQUIRE(params.attr_u64("data_fingerprint") == data_fingerprint(*study.model.data), path,
                ": [data] ", study.model.data->source,
                " is not the data this run used (the file changed since): put the original "
                "back, or start the run again");
}

/// H5MD 1.1's box of a particles group: scalar integer dimension, boundary "none" per dimension
/// (walkers move in open space).
void h5md_box(const Group &particles, int dim) {
    const Group box = particles.group("box");
    box.scalar_attr("dimension", dim);
    box.attr("boundary", std::vector<std::string>(std::size_t(dim), "none"));
}

/// An H5MD time series: step, time, value (value shape [K, ...]).
void series(const Group &parent, const std::string &name, const std::vector<std::int64_t> &steps,
            const std::vector<double> &times, const std::vector<double> &value,
            std::vector<hsize_t> dims = {}) {
    const Group g = parent.group(name);
    g.write("step", steps);
    g.write("time", times);
    g.write("value", value, std::move(dims));
}

std::vector<double> bin_edges(const Axis &axis) {
    std::vector<double> edges;
    for (int b = 0; b <= axis.bins; ++b)
        edges.push_back(axis.lo + (axis.hi - axis.lo) * b / axis.bins);
    return edges;
}

/// Writes through `path.tmp` and renames: a crash or an error never leaves a half-written file
/// at `path`, and a file already there stays as it was until the new one is complete.
template <class F> void atomically(const std::string &path, F &&fill) {
    const std::string tmp = path + ".tmp";
    try {
        h5::File file = h5::File::create(tmp);
        fill(file.root());
        file.close(); // a full disk shows here, before the file replaces anything
    } catch (...) {
        std::remove(tmp.c_str()); // the file closed as the exception left its scope
        throw;
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        const std::string why = std::strerror(errno);
        std::remove(tmp.c_str());
        throw Error(detail::concat("cannot rename ", tmp, " to ", path, " (", why, ")"));
    }
}

/// Per-sample totals: counts, exact sums (canonical digits, [width][ExactSum::kLimbs + 1]),
/// the best walker. A sample never reached is an empty group.
void write_totals(const Group &parent, const std::vector<Accumulator> &totals) {
    parent.attr("samples", std::uint64_t(totals.size()));
    for (std::size_t k = 0; k < totals.size(); ++k) {
        const Accumulator &a = totals[k];
        const Group g = parent.group("sample_" + std::to_string(k));
        g.write("marginal", a.marginal);
        g.write("joint", a.joint);
        g.write("basins", a.basins);
        g.write("passage", a.passage);
        std::vector<std::int64_t> digits;
        for (const ExactSum &e : a.sums) {
            const auto d = e.digits();
            digits.insert(digits.end(), d.begin(), d.end());
        }
        g.write("sums", digits, {hsize_t(a.sums.size()), hsize_t(ExactSum::kLimbs + 1)});
        g.write("best_position", a.best_position);
        g.attr("outside", std::uint64_t(a.outside));
        g.attr("best_energy", a.best.energy);
        g.attr("best_walker", std::uint64_t(a.best.walker));
    }
}

std::vector<Accumulator> read_totals(const Group &parent) {
    std::vector<Accumulator> totals(parent.attr_u64("samples"));
    for (std::size_t k = 0; k < totals.size(); ++k) {
        Accumulator &a = totals[k];
        const Group g = parent.open("sample_" + std::to_string(k));
        a.marginal = g.read_u64("marginal");
        a.joint = g.read_u64("joint");
        a.basins = g.read_u64("basins");
        a.passage = g.read_u64("passage");
        const std::vector<std::int64_t> digits = g.read_i64("sums");
        const std::size_t per = ExactSum::kLimbs + 1;
        for (std::size_t j = 0; j + per <= digits.size(); j += per)
            a.sums.push_back(ExactSum::from_digits(&digits[j]));
        a.best_position = g.read_doubles("best_position");
        a.outside = g.attr_u64("outside");
        a.best.energy = g.attr_double("best_energy");
        a.best.walker = g.attr_u64("best_walker");
    }
    return totals;
}

} // namespace

void write_results(const std::string &path, const Study &study, const RunResult &result) {
    atomically(path, [&](const Group &root) {
        metadata(root, study);
        const Group params = root.open("parameters");
        params.attr("backend", result.backend);
        params.attr("device", result.device);
        const Group obs = root.group("observables");
        const auto &S = result.samples;
        const std::size_t K = S.size();
        std::vector<std::int64_t> steps;
        std::vector<double> times;
        for (const SampleResult &s : S) {
            steps.push_back(std::int64_t(s.step));
            times.push_back(s.time);
        }
        auto column = [&](auto get) {
            std::vector<double> v;
            for (const SampleResult &s : S)
                v.push_back(double(get(s)));
            return v;
        };
        auto cmp = [](const Comparison &c, double v) { return c.available ? v : NAN; };
        series(obs, "bath_temperature", steps, times,
               column([](auto &s) { return s.temperature; }));
        series(obs, "kl", steps, times,
               column([&](auto &s) { return cmp(s.comparison, s.comparison.kl); }));
        series(obs, "tv", steps, times,
               column([&](auto &s) { return cmp(s.comparison, s.comparison.tv); }));
        series(obs, "chi2", steps, times,
               column([&](auto &s) { return cmp(s.comparison, s.comparison.chi2); }));
        series(obs, "chi2_dof", steps, times,
               column([&](auto &s) { return cmp(s.comparison, s.comparison.chi2_dof); }));
        series(obs, "chi2_p", steps, times,
               column([&](auto &s) { return cmp(s.comparison, s.comparison.chi2_p); }));
        series(obs, "mean_energy", steps, times, column([](auto &s) { return s.mean_energy; }));
        series(obs, "boltzmann_mean_energy", steps, times,
               column([](auto &s) { return s.boltzmann_mean_energy; }));
        series(obs, "energy_lag_z", steps, times, column([](auto &s) { return s.energy_lag_z; }));
        series(obs, "kinetic_temperature", steps, times,
               column([](auto &s) { return s.kinetic_temperature; }));
        series(obs, "outside", steps, times, column([](auto &s) { return s.outside; }));
        series(obs, "nonfinite", steps, times, column([](auto &s) { return s.nonfinite; }));
        series(obs, "global_basin_fraction", steps, times,
               column([](auto &s) { return s.global_basin_fraction; }));
        series(obs, "global_basin_boltzmann", steps, times,
               column([](auto &s) { return s.global_basin_boltzmann; }));
        series(obs, "best_energy", steps, times, column([](auto &s) { return s.best_energy; }));
        series(obs, "msd", steps, times, column([](auto &s) { return s.msd; }));
        series(obs, "msd_einstein", steps, times, column([](auto &s) { return s.msd_einstein; }));
        series(obs, "msd_exact", steps, times, column([](auto &s) { return s.msd_exact; }));
        if (study.model.target.active())
            series(obs, "survival", steps, times, column([](auto &s) { return s.survival; }));
        const int dim = study.model.dim();
        std::vector<double> mean, var, best;
        for (const SampleResult &s : S) {
            mean.insert(mean.end(), s.mean.begin(), s.mean.end());
            var.insert(var.end(), s.var.begin(), s.var.end());
            for (int d = 0; d < dim; ++d)
                best.push_back(s.best_position.empty() ? NAN : s.best_position[d]);
        }
        series(obs, "mean", steps, times, mean, {K, hsize_t(dim)});
        series(obs, "variance", steps, times, var, {K, hsize_t(dim)});
        series(obs, "best_position", steps, times, best, {K, hsize_t(dim)});

        // Histograms: counts per sample, with edges, outside/non-finite counts and Boltzmann.
        if (K > 0) {
            const Group hists = obs.group("histograms");
            for (std::size_t h = 0; h < S[0].histograms.size(); ++h) {
                const HistogramResult &first = S[0].histograms[h];
                const std::string name =
                    first.dims.size() == 2 ? "joint" : "x" + std::to_string(first.dims[0]);
                std::vector<std::uint64_t> counts, outside, nonfinite;
                std::vector<double> boltzmann;
                std::vector<hsize_t> shape = {K};
                for (const Axis &a : first.axes)
                    shape.push_back(hsize_t(a.bins));
                for (const SampleResult &s : S) {
                    const HistogramResult &hr = s.histograms[h];
                    counts.insert(counts.end(), hr.counts.begin(), hr.counts.end());
                    if (hr.reference.empty())
                        boltzmann.insert(boltzmann.end(), hr.counts.size(), NAN);
                    else
                        boltzmann.insert(boltzmann.end(), hr.reference.begin(), hr.reference.end());
                    outside.push_back(hr.outside);
                    nonfinite.push_back(hr.nonfinite);
                }
                const Group g = hists.group(name);
                g.write("step", steps);
                g.write("time", times);
                g.write("value", counts, shape);
                g.write("boltzmann", boltzmann, shape);
                g.write("outside", outside);
                g.write("nonfinite", nonfinite);
                for (std::size_t a = 0; a < first.axes.size(); ++a)
                    g.write("edges_" + std::to_string(a), bin_edges(first.axes[a]));
                if (first.axes.size() == 2) {
                    // For contour plots: E and the basin rule at the bin centres.
                    const PotentialMap map =
                        potential_map(study.model, first.axes[0], first.axes[1]);
                    if (!map.energy.empty()) {
                        const std::vector<hsize_t> grid = {hsize_t(first.axes[0].bins),
                                                           hsize_t(first.axes[1].bins)};
                        g.write("energy", map.energy, grid);
                        g.write("basin", map.basin, grid);
                    }
                }
            }
            if (!S[0].basins.empty()) {
                std::vector<double> emp, boltz;
                std::string names;
                for (const SampleResult &s : S)
                    for (const BasinResult &b : s.basins) {
                        emp.push_back(b.empirical);
                        boltz.push_back(b.boltzmann >= 0 ? b.boltzmann : NAN);
                    }
                for (const BasinResult &b : S[0].basins)
                    names += (names.empty() ? "" : ",") + b.name;
                const hsize_t nb = S[0].basins.size();
                series(obs, "basins", steps, times, emp, {K, nb});
                obs.open("basins").write("boltzmann", boltz, {K, nb});
                obs.open("basins").attr("names", names);
            }
        }

        const FirstPassageResult &fp = result.first_passage;
        if (fp.active) {
            const Group g = obs.group("first_passage");
            g.attr("hits", fp.hits);
            g.attr("censored", fp.censored);
            g.attr("mean", fp.mean);
            g.attr("standard_error", fp.standard_error);
            g.attr("exact", fp.exact);
            g.attr("exact_continuum", fp.exact_continuum);
            g.attr("kramers", fp.kramers);
            g.write("histogram", fp.counts);
            g.write("edges", bin_edges(fp.axis));
        }
        if (study.sgd.active) {
            const SgdTheory &th = study.sgd;
            const Group g = obs.group("sgd");
            g.attr("batch", std::uint64_t(th.batch));
            g.attr("n", std::uint64_t(th.n));
            g.attr("full_batch", std::uint64_t(th.full_batch ? 1 : 0));
            g.write("w_star", th.w_star);
            g.attr("loss_star", th.loss_star);
            g.attr("gradient_variance", th.gradient_variance);
            g.attr("t_eff_per_lr", th.t_eff_per_lr);
            g.attr("exact_mean", th.exact_mean);
            g.attr("exact_var", th.exact_var);
        }
        const Group run = obs.group("run");
        run.attr("walker_steps_per_second", result.walker_steps_per_second);
        run.attr("seconds", result.seconds);
        run.attr("chunks", std::uint64_t(result.chunks));
        run.attr("walkers", std::uint64_t(result.walkers));
        run.attr("stopped", std::uint64_t(result.stopped ? 1 : 0));
        run.attr("stop_reason", result.stop_reason);

        // A shard also keeps its raw totals: `langevin merge` adds them exactly.
        if (study.shard.count > 1) {
            const Group shard = root.group("shard");
            shard.attr("index", std::uint64_t(study.shard.index));
            shard.attr("count", std::uint64_t(study.shard.count));
            shard.attr("begin", std::uint64_t(result.range.begin));
            shard.attr("end", std::uint64_t(result.range.end));
            shard.attr("chunk_walkers", std::uint64_t(result.chunk_walkers));
            write_totals(shard.group("totals"), result.accumulators);
        }

        const Trajectories &tr = result.trajectories;
        if (tr.walkers > 0) {
            const Group walkers = root.group("particles").group("trajectories");
            h5md_box(walkers, tr.dim);
            std::vector<std::int64_t> ts;
            std::vector<double> tt;
            const double dt =
                std::visit([](const auto &i) { return i.dt; }, study.model.integrator);
            for (std::uint64_t s : tr.steps) {
                ts.push_back(std::int64_t(s));
                tt.push_back(double(s) * dt);
            }
            series(walkers, "position", ts, tt, tr.positions,
                   {hsize_t(tr.steps.size()), hsize_t(tr.walkers), hsize_t(tr.dim)});
        }
    });
}

std::string checkpoint_path(const std::string &output) {
    return output + ".partial";
}

void write_checkpoint(const std::string &path, const Study &study, const RunState &state) {
    atomically(path, [&](const Group &root) {
        metadata(root, study);
        const Group cp = root.group("checkpoint");
        cp.attr("chunk", std::uint64_t(state.chunk));
        cp.attr("step", std::uint64_t(state.step));
        cp.attr("next_sample", std::uint64_t(state.next_sample));
        cp.attr("chunk_walkers", std::uint64_t(state.chunk_walkers));
        cp.attr("seconds", state.seconds);
        cp.attr("format", kCheckpointFormat);
        cp.attr("shard_index", std::uint64_t(study.shard.index));
        cp.attr("shard_count", std::uint64_t(study.shard.count));
        write_totals(cp, state.samples);
        // The chunk in progress: H5MD particle group (box boundary "none"), plus hit steps.
        const Group walkers = root.group("particles").group("walkers");
        const hsize_t dim = hsize_t(study.model.dim());
        h5md_box(walkers, int(dim));
        const hsize_t n = state.walkers.x.size() / dim;
        const std::vector<std::int64_t> step = {std::int64_t(state.step)};
        const double dt = std::visit([](const auto &i) { return i.dt; }, study.model.integrator);
        // Backends keep x[d * n + i]; H5MD wants [frame][particle][dimension].
        auto transpose = [&](const std::vector<double> &soa) {
            std::vector<double> aos(soa.size());
            for (hsize_t i = 0; i < n; ++i)
                for (hsize_t d = 0; d < dim; ++d)
                    aos[i * dim + d] = soa[d * n + i];
            return aos;
        };
        series(walkers, "position", step, {double(state.step) * dt}, transpose(state.walkers.x),
               {1, n, dim});
        series(walkers, "velocity", step, {double(state.step) * dt}, transpose(state.walkers.v),
               {1, n, dim});
        cp.write("hit", state.walkers.hit);
    });
}

namespace {

/// Runs read(), naming `path` in the HDF5 layer's errors (a group, dataset or attribute that is
/// missing or unreadable): a file that opens but cannot be read as its kind is damaged.
template <class Read> auto reading(const std::string &path, Read &&read) {
    try {
        return read();
    } catch (const Error &e) {
        const std::string what = e.what();
        if (what.rfind("HDF5: ", 0) == 0)
            throw Error(
                detail::concat(path, ": ", what.substr(6), " (the file is damaged or was edited)"));
        throw;
    }
}

ShardFile read_shard_file(const std::string &path) {
    const h5::File file = h5::File::open(path);
    const Group root = file.root();
    LGV_REQUIRE(root.has("parameters") && root.has("observables"), path,
                ": not a langevin results file");
    LGV_REQUIRE(root.has("shard"), path,
                ": not a shard (no /shard group): shards are written by `langevin run STUDY "
                "--shard i/K -o FILE`");
    const Group params = root.open("parameters");
    ShardFile f{path, parse_study(params.attr_string("config_toml"), path), {}};
    check_data_unchanged(params, f.study, path);
    const Group shard = root.open("shard");
    f.study.shard.index = shard.attr_u64("index");
    f.study.shard.count = shard.attr_u64("count");
    RunResult &r = f.result;
    r.range = {shard.attr_u64("begin"), shard.attr_u64("end")};
    r.chunk_walkers = shard.attr_u64("chunk_walkers");
    r.accumulators = read_totals(shard.open("totals"));
    r.backend = params.attr_string("backend");
    r.device = params.attr_string("device");
    const Group run = root.open("observables").open("run");
    r.seconds = run.attr_double("seconds");
    r.chunks = run.attr_u64("chunks");
    r.walkers = run.attr_u64("walkers");
    r.steps = f.study.steps;
    r.stopped = run.attr_u64("stopped") != 0;
    r.stop_reason = run.attr_string("stop_reason");
    if (root.has("particles") && root.open("particles").has("trajectories")) {
        const Group pos = root.open("particles").open("trajectories").open("position");
        Trajectories &tr = r.trajectories;
        tr.dim = f.study.model.dim();
        for (std::int64_t s : pos.read_i64("step"))
            tr.steps.push_back(std::uint64_t(s));
        tr.positions = pos.read_doubles("value");
        tr.walkers = tr.steps.empty() ? 0 : tr.positions.size() / (tr.steps.size() * tr.dim);
        LGV_REQUIRE(tr.positions.size() == tr.steps.size() * tr.walkers * std::size_t(tr.dim), path,
                    ": its trajectories do not fit its study (", tr.dim,
                    "-D): the file is damaged or was edited");
    }
    // A finished run counted every one of its walkers at every sample.
    check_stored_totals(f.study, r.accumulators, path, r.stopped ? 0 : r.range.end - r.range.begin);
    return f;
}

Checkpoint read_checkpoint_file(const std::string &path) {
    const h5::File file = h5::File::open(path);
    const Group root = file.root();
    LGV_REQUIRE(root.has("checkpoint") && root.has("parameters"), path,
                ": not a langevin checkpoint (no /checkpoint group)");
    const Group params = root.open("parameters");
    Checkpoint c{parse_study(params.attr_string("config_toml"), path + " (resumed)"), {}};
    check_data_unchanged(params, c.study, path);
    c.study.source = params.attr_string("source"); // the results name the study, not the checkpoint
    const Group cp = root.open("checkpoint");
    c.state.chunk = cp.attr_u64("chunk");
    c.state.step = cp.attr_u64("step");
    c.state.next_sample = cp.attr_u64("next_sample");
    c.state.chunk_walkers = cp.attr_u64("chunk_walkers");
    c.state.seconds = cp.attr_double("seconds");
    LGV_REQUIRE(cp.has_attr("format") && cp.attr_u64("format") == kCheckpointFormat, path,
                ": checkpoint written by an older langevin (format 1, inexact sums); it cannot be "
                "resumed by this version: start the run again with --force");
    c.state.samples = read_totals(cp);
    c.study.shard.index = cp.attr_u64("shard_index");
    c.study.shard.count = cp.attr_u64("shard_count");
    const Group walkers = root.open("particles").open("walkers");
    const std::size_t dim = std::size_t(c.study.model.dim());
    auto untranspose = [&](const std::vector<double> &aos) {
        const std::size_t n = aos.size() / dim;
        std::vector<double> soa(aos.size());
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t d = 0; d < dim; ++d)
                soa[d * n + i] = aos[i * dim + d];
        return soa;
    };
    c.state.walkers.x = untranspose(walkers.open("position").read_doubles("value"));
    c.state.walkers.v = untranspose(walkers.open("velocity").read_doubles("value"));
    c.state.walkers.hit = cp.read_u64("hit");
    check_stored_state(c.study, c.state, path);
    return c;
}

} // namespace

ShardFile read_shard(const std::string &path) {
    return reading(path, [&] { return read_shard_file(path); });
}

Checkpoint read_checkpoint(const std::string &path) {
    return reading(path, [&] { return read_checkpoint_file(path); });
}

} // namespace langevin
