// The host loop: chunks of walkers, advanced from sample to sample in adaptive segments,
// reduced, compared with Boltzmann; checkpoints and interruptions between segments.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <optional>

#include "langevin/boltzmann.hpp"
#include "langevin/config.hpp"
#include "langevin/stats.hpp"
#include "langevin/study.hpp"

namespace langevin {

void Accumulator::add(const Observation &o, int width) {
    if (sums.empty()) {
        marginal.assign(o.marginal.size(), 0);
        joint.assign(o.joint.size(), 0);
        basins.assign(o.basins.size(), 0);
        passage.assign(o.passage.size(), 0);
        sums.assign(width, ExactSum{});
    }
    for (std::size_t k = 0; k < marginal.size(); ++k)
        marginal[k] += o.marginal[k];
    for (std::size_t k = 0; k < joint.size(); ++k)
        joint[k] += o.joint[k];
    for (std::size_t k = 0; k < basins.size(); ++k)
        basins[k] += o.basins[k];
    for (std::size_t k = 0; k < passage.size(); ++k)
        passage[k] += o.passage[k];
    LGV_REQUIRE(o.moment_sums.size() == std::size_t(width), "internal: moment sums of width ",
                o.moment_sums.size(), ", expected ", width);
    for (int j = 0; j < width; ++j)
        sums[j] += o.moment_sums[j];
    outside += o.outside_box;
    const std::uint64_t before = best.walker;
    best.consider(o.best.energy, o.best.walker);
    if (best.walker != before)
        best_position = o.best_position;
}

void Accumulator::merge(const Accumulator &o) {
    if (o.empty())
        return;
    if (empty()) {
        *this = o;
        return;
    }
    auto add_counts = [](std::vector<std::uint64_t> &a, const std::vector<std::uint64_t> &b) {
        LGV_REQUIRE(a.size() == b.size(), "internal: merging accumulators of different shapes");
        for (std::size_t k = 0; k < a.size(); ++k)
            a[k] += b[k];
    };
    add_counts(marginal, o.marginal);
    add_counts(joint, o.joint);
    add_counts(basins, o.basins);
    add_counts(passage, o.passage);
    LGV_REQUIRE(sums.size() == o.sums.size(), "internal: merging accumulators of different shapes");
    for (std::size_t j = 0; j < sums.size(); ++j)
        sums[j] += o.sums[j];
    outside += o.outside;
    const std::uint64_t before = best.walker;
    best.consider(o.best.energy, o.best.walker);
    if (best.walker != before)
        best_position = o.best_position;
}

/// The references of every temperature the summaries have met, and what they share.
struct ReferenceCache {
    struct References {
        std::vector<std::vector<double>> marginals;
        std::vector<double> joint, basins, energy;
    };
    explicit ReferenceCache(const Study &study) : boltzmann(study.model, study.grid) {}
    std::map<double, References> by_temperature;
    BoltzmannReferences boltzmann; ///< keeps what does not depend on T
};

std::shared_ptr<ReferenceCache> make_reference_cache(const Study &study) {
    return std::make_shared<ReferenceCache>(study);
}

namespace {

using Clock = std::chrono::steady_clock;

double model_dt(const Model &m) {
    return std::visit([](const auto &i) { return i.dt; }, m.integrator);
}
double model_mass(const Model &m) {
    return std::visit(
        [](const auto &i) {
            if constexpr (std::decay_t<decltype(i)>::underdamped)
                return i.mass;
            else
                return 1.0;
        },
        m.integrator);
}
/// Diffusion constant T * mobility: T/gamma overdamped, T/(m gamma) underdamped.
double mobility(const Model &m) {
    return std::visit(
        [](const auto &i) {
            if constexpr (std::decay_t<decltype(i)>::underdamped)
                return 1.0 / (i.mass * i.friction);
            else
                return 1.0 / i.friction;
        },
        m.integrator);
}

/// The temperature a sample at `step` is compared at: that of the last step taken; for SGD the
/// bath's (SGLD) plus the mini-batch noise's effective T_eff = lr_n tr(C) / (2 B D) (sgd.hpp).
double sample_temperature(const Study &study, std::uint64_t step) {
    const std::uint64_t last = step > 0 ? step - 1 : 0;
    double T = study.schedule.at(last);
    if (const Sgd *sgd = std::get_if<Sgd>(&study.model.integrator))
        T += sgd->lr(last) * study.sgd.t_eff_per_lr;
    return T;
}

HistogramResult make_histogram(std::vector<int> dims, std::vector<Axis> axes,
                               const std::uint64_t *slots, std::size_t n_slots,
                               std::vector<double> reference) {
    HistogramResult h;
    h.dims = std::move(dims);
    h.axes = std::move(axes);
    h.outside = slots[0];
    h.nonfinite = slots[n_slots - 1];
    h.counts.assign(slots + 1, slots + n_slots - 1);
    h.reference = std::move(reference);
    h.comparison = compare_histogram(h.counts, h.reference);
    return h;
}

SampleResult summarise(const Study &study, std::uint64_t step, const Accumulator &acc,
                       ReferenceCache &cache) {
    const Model &model = study.model;
    const int dim = model.dim();
    const double kT = sample_temperature(study, step);
    SampleResult s;
    s.step = step;
    s.time = double(step) * model_dt(model);
    s.temperature = kT;
    std::uint64_t observed = 0; // walkers in this sample (all chunks that reached it)
    for (std::size_t k = 0; k < std::size_t(study.grid.axes[0].bins + 2); ++k)
        observed += acc.marginal[k];
    const double n = acc.sum(0);
    s.finite = static_cast<std::uint64_t>(n);
    s.nonfinite = observed - s.finite;
    s.outside = acc.outside;
    double shift[kMaxDim];
    grid_centres(study.grid, shift);
    s.mean.resize(dim);
    s.var.resize(dim);
    for (int d = 0; d < dim; ++d) {
        const double m1 = acc.sum(3 + d) / n, m2 = acc.sum(3 + dim + d) / n;
        s.mean[d] = shift[d] + m1;
        // Rounding can leave a tiny negative for walkers that all sit at one point.
        s.var[d] = n > 1 ? std::max(0.0, (m2 - m1 * m1) * n / (n - 1))
                         : std::numeric_limits<double>::quiet_NaN();
    }
    s.mean_energy = acc.sum(1) / n;
    if (model.underdamped())
        s.kinetic_temperature = model_mass(model) * acc.sum(2) / (n * dim);
    s.msd = acc.sum(moment::msd(dim)) / n;
    if (study.schedule.is_constant() && !study.sgd.active) { // SGD has no diffusion law
        s.msd_einstein = 2.0 * dim * kT * mobility(model) * s.time;
        if (std::holds_alternative<Free>(model.potential))
            std::visit(
                [&](const auto &i) {
                    if constexpr (!std::is_same_v<std::decay_t<decltype(i)>, Sgd>)
                        s.msd_exact = dim * i.free_msd(kT, step);
                },
                model.integrator);
    }
    if (model.target.active()) {
        s.hits = static_cast<std::uint64_t>(acc.sum(moment::hits(dim)));
        s.survival = 1.0 - double(s.hits) / double(observed);
    }
    if (acc.best.walker != ~std::uint64_t(0)) {
        s.best_energy = acc.best.energy;
        s.best_position = acc.best_position;
    }

    // References depend only on the temperature: compute once per T.
    const bool joint = dim == 2 && study.grid.joint;
    auto found = cache.by_temperature.find(kT);
    if (found == cache.by_temperature.end()) {
        ReferenceCache::References r;
        r.marginals = cache.boltzmann.marginals(kT);
        if (joint)
            r.joint = cache.boltzmann.joint(kT);
        r.basins = cache.boltzmann.basins(kT);
        r.energy = cache.boltzmann.energy_moments(kT);
        found = cache.by_temperature.emplace(kT, std::move(r)).first;
    }
    const ReferenceCache::References &refs = found->second;
    std::size_t offset = 0;
    for (int d = 0; d < dim; ++d) {
        const std::size_t slots = study.grid.axes[d].bins + 2;
        s.histograms.push_back(make_histogram({d}, {study.grid.axes[d]}, &acc.marginal[offset],
                                              slots, refs.marginals[d]));
        offset += slots;
    }
    if (joint)
        s.histograms.push_back(make_histogram({0, 1}, {study.grid.axes[0], study.grid.axes[1]},
                                              acc.joint.data(), acc.joint.size(), refs.joint));
    // Headline: the joint histogram in 2-D, the only one in 1-D, else the worst marginal.
    if (dim == 1)
        s.headline = 0;
    else if (joint)
        s.headline = dim;
    else
        for (int d = 0; d < dim; ++d)
            if (s.histograms[d].comparison.available &&
                (s.headline < 0 ||
                 s.histograms[d].comparison.kl > s.histograms[s.headline].comparison.kl))
                s.headline = d;
    if (s.headline >= 0)
        s.comparison = s.histograms[s.headline].comparison;

    std::visit(
        [&](const auto &pot) {
            for (int b = 0; b < pot.basin_count(); ++b)
                s.basins.push_back(
                    {pot.basin_name(b),
                     // no finite walker: no fraction (n/a, JSON null), not 0
                     n > 0 ? double(acc.basins[b]) / n : std::numeric_limits<double>::quiet_NaN(),
                     refs.basins.empty() ? -1.0 : refs.basins[b]});
            const int g = pot.global_basin();
            if (g >= 0) {
                s.global_basin_fraction = s.basins[g].empirical;
                if (!refs.basins.empty())
                    s.global_basin_boltzmann = refs.basins[g];
            }
        },
        model.potential);
    if (!refs.energy.empty()) {
        s.boltzmann_mean_energy = refs.energy[0];
        if (n > 1 && refs.energy[1] > 0)
            s.energy_lag_z = (s.mean_energy - refs.energy[0]) / std::sqrt(refs.energy[1] / n);
    }
    return s;
}

/// First-passage summary from the last sample's sums and passage histogram.
FirstPassageResult summarise_passage(const Study &study, const Accumulator &last,
                                     std::uint64_t observed) {
    FirstPassageResult fp;
    const Model &model = study.model;
    if (!model.target.active())
        return fp;
    const int dim = model.dim();
    const double dt = model_dt(model);
    fp.active = true;
    const double hits = last.sum(moment::hits(dim));
    fp.hits = static_cast<std::uint64_t>(hits);
    fp.censored = observed - fp.hits;
    if (hits > 0) {
        const double m1 = last.sum(moment::hits(dim) + 1) / hits;
        const double m2 = last.sum(moment::hits(dim) + 2) / hits;
        fp.mean = m1 * dt;
        fp.standard_error =
            hits > 1 ? std::sqrt((m2 - m1 * m1) * hits / (hits - 1) / hits) * dt : kNotAvailable;
    }
    fp.axis = Axis{0.0, double(study.steps) * dt, study.passage_bins};
    if (!last.passage.empty())
        fp.counts.assign(last.passage.begin() + 1, last.passage.end() - 1);
    // Exact references: 1-D overdamped, constant T, a half-space target, a point start.
    const Target &t = model.target;
    const bool overdamped = !model.underdamped();
    // SGD's noise is not a bath at T: the Langevin references do not apply.
    if (dim == 1 && overdamped && !study.sgd.active && study.schedule.is_constant() &&
        study.init.kind == InitSpec::Kind::point &&
        (t.kind == Target::Kind::above || t.kind == Target::Kind::below)) {
        const double T = study.schedule.T, x0 = study.init.point[0];
        // A start already in the target has no passage to compute (the integral would be the
        // time to the level from the other side).
        if (t.kind == Target::Kind::above ? !(x0 < t.value) : !(x0 > t.value))
            return fp;
        const double gamma = 1.0 / mobility(model);
        const bool em = std::holds_alternative<EulerMaruyama>(model.integrator);
        fp.exact_continuum = exact_mean_first_passage(model, x0, t.value, T, gamma);
        fp.exact = em ? exact_discrete_mean_first_passage(model, x0, t.value, T, gamma, dt)
                      : kNotAvailable;
        fp.kramers = kramers_time(model, x0, t.value, T, gamma);
    }
    return fp;
}

/// Walkers 0..M-1 recorded every trajectory_every steps: a separate small run, bitwise the same
/// trajectories as inside the ensemble (a walker depends on its id only). `interrupted` is polled
/// between records.
Trajectories record_trajectories(const Study &study, Backend &backend,
                                 const std::function<bool()> &interrupted) {
    Trajectories tr;
    const std::uint64_t m = std::min(study.trajectories, study.walkers);
    if (m == 0 || study.trajectory_every == 0)
        return tr;
    tr.walkers = m;
    tr.dim = study.model.dim();
    backend.initialize(study.model, study.init, 0, m);
    WalkerState state;
    auto record = [&](std::uint64_t step) {
        backend.save(state);
        tr.steps.push_back(step);
        for (std::uint64_t i = 0; i < m; ++i)
            for (int d = 0; d < tr.dim; ++d)
                tr.positions.push_back(state.x[d * m + i]);
    };
    record(0);
    for (std::uint64_t step = 0; step < study.steps;) {
        if (interrupted && interrupted())
            throw Interrupted("interrupted while recording the trajectories");
        const std::uint64_t n = std::min(study.trajectory_every, study.steps - step);
        backend.advance(study.model, step, n, study.schedule.table(step, n));
        step += n;
        record(step);
    }
    return tr;
}

/// summarise_run with the references already computed in `cache`.
void summarise_samples(const Study &study, const std::vector<Accumulator> &totals,
                       RunResult &result, ReferenceCache &cache) {
    const std::vector<std::uint64_t> &samples = study.samples;
    result.samples.clear();
    for (std::size_t k = 0; k < samples.size() && k < totals.size(); ++k) {
        if (totals[k].empty())
            break; // a stopped run: later samples were never reached
        result.samples.push_back(summarise(study, samples[k], totals[k], cache));
    }
    result.first_passage = FirstPassageResult{};
    if (result.samples.empty())
        return;
    const std::size_t last = result.samples.size() - 1;
    std::uint64_t best_walker = ~std::uint64_t(0);
    double best = HUGE_VAL;
    std::vector<double> best_position;
    // best_energy is the lowest seen at any sample up to this one.
    for (std::size_t k = 0; k <= last; ++k) {
        const Accumulator &a = totals[k];
        if (a.best.energy < best) {
            best = a.best.energy;
            best_walker = a.best.walker;
            best_position = a.best_position;
        }
        if (best_walker != ~std::uint64_t(0)) {
            result.samples[k].best_energy = best;
            result.samples[k].best_position = best_position;
        }
    }
    result.first_passage = summarise_passage(
        study, totals[last], result.samples[last].finite + result.samples[last].nonfinite);
}

} // namespace

std::string schedule_text(const Study &study) {
    if (const Sgd *sgd = std::get_if<Sgd>(&study.model.integrator))
        return describe_sgd(*sgd, study.sgd, study.schedule.describe());
    return study.schedule.describe();
}

std::vector<std::uint64_t> sample_steps_linear(std::uint64_t steps, std::uint64_t every) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t t = every; t < steps; t += every)
        out.push_back(t);
    out.push_back(steps);
    return out;
}

std::vector<std::uint64_t> sample_steps_count(std::uint64_t steps, std::uint64_t count, bool log) {
    std::vector<std::uint64_t> out;
    for (std::uint64_t k = 1; k <= count; ++k) {
        const double f = double(k) / double(count);
        const std::uint64_t s =
            log ? static_cast<std::uint64_t>(std::llround(std::pow(double(steps), f)))
                : static_cast<std::uint64_t>(std::llround(f * double(steps)));
        if (s >= 1 && (out.empty() || s > out.back()))
            out.push_back(std::min(s, steps));
    }
    if (out.empty() || out.back() != steps)
        out.push_back(steps);
    return out;
}

namespace {
/// What every sample observes. Without a target the passage axis keeps its one default bin
/// (every walker in the first slot), as stored files have it.
ObserveSpec observe_spec(const Study &study) {
    ObserveSpec spec;
    spec.grid = study.grid;
    spec.init = study.init;
    if (study.model.target.active())
        spec.passage = Axis{0.0, double(study.steps) + 1e-9, study.passage_bins};
    return spec;
}

/// The count slots of one sample's totals (each histogram's bins plus outside and non-finite).
struct SampleSlots {
    std::size_t marginal = 0, joint = 0, passage = 0;
};
SampleSlots sample_slots(const Study &study) {
    SampleSlots n;
    const int dim = study.model.dim();
    for (int d = 0; d < dim; ++d)
        n.marginal += std::size_t(study.grid.axes[d].bins) + 2;
    if (dim == 2 && study.grid.joint)
        n.joint = std::size_t(study.grid.axes[0].bins) * std::size_t(study.grid.axes[1].bins) + 2;
    const Axis passage = observe_spec(study).passage;
    n.passage = passage.bins > 0 ? std::size_t(passage.bins) + 2 : 0;
    return n;
}
} // namespace

void check_host_memory(const Study &study) {
    const double memory = physical_memory_bytes();
    if (memory <= 0)
        return;
    const int dim = study.model.dim();
    const SampleSlots n = sample_slots(study);
    const double slots = double(n.marginal) + double(n.joint) + double(n.passage);
    // 8-byte counts in the totals, the sample's result and its Boltzmann reference, and the
    // copy written to HDF5.
    const double samples = 32.0 * slots * double(study.samples.size());
    // Step 0 and the end of every trajectory_every steps (the last span may be shorter).
    const double records = study.trajectories > 0
                               ? double(study.steps / study.trajectory_every +
                                        (study.steps % study.trajectory_every != 0) + 1)
                               : 0.0;
    const double paths = 16.0 * records * double(study.trajectories) * dim;
    auto gb = [](double bytes) { return detail::number_text(std::round(bytes / 1e7) / 100); };
    if (samples + paths <= 0.8 * memory)
        return;
    std::string parts = detail::concat(
        study.samples.size(), " samples ([run] samples or sample_every) of ", slots,
        " histogram slots ([histogram] bins", dim == 2 && study.grid.joint ? ", joint" : "",
        study.model.target.active() ? ", [first_passage] bins" : "", "): ", gb(samples), " GB");
    if (paths > 0)
        parts += detail::concat("; [output] trajectories = ", study.trajectories, " walkers over ",
                                records, " records (trajectory_every = ", study.trajectory_every,
                                "): ", gb(paths), " GB");
    throw Error(detail::concat("the results would need about ", gb(samples + paths),
                               " GB of memory; this machine has ", gb(memory), " GB. ", parts));
}

std::string nonfinite_remedy(const Study &study) {
    const double dt = model_dt(study.model);
    const char *key = study.sgd.active ? "lr" : "dt";
    return detail::concat(
        "[integrator] ", key, " = ", dt, " is probably too large for this ",
        study.sgd.active ? "loss" : "potential", ": try --set integrator.", key, "=", dt / 10,
        study.model.precision == Precision::float32 ? " (or --set ensemble.precision=float64 if "
                                                      "the energy's values exceed float32's 3.4e38)"
                                                    : "",
        study.sgd.active ? "; if a smaller rate does not help, look at the start, T and the data"
                         : "; if a smaller step does not help, look at the start, T, the friction, "
                           "the mass and the potential's parameters");
}

namespace {

/// Sum of counts[from, from + size), or nullopt where it overflows (an edited file).
std::optional<std::uint64_t> count_total(const std::vector<std::uint64_t> &counts, std::size_t from,
                                         std::size_t size) {
    std::uint64_t total = 0;
    for (std::size_t k = from; k < from + size; ++k)
        if (__builtin_add_overflow(total, counts[k], &total))
            return std::nullopt;
    return total;
}

} // namespace

void check_stored_totals(const Study &study, const std::vector<Accumulator> &totals,
                         const std::string &source, std::uint64_t walkers) {
    const int dim = study.model.dim();
    const SampleSlots n = sample_slots(study);
    const std::size_t basins = std::size_t(
        std::visit([](const auto &p) { return p.basin_count(); }, study.model.potential));
    LGV_REQUIRE(totals.size() == study.samples.size(), source, ": holds ", totals.size(),
                " samples; its study has ", study.samples.size(),
                " (the file is damaged or was edited)");
    for (std::size_t k = 0; k < totals.size(); ++k) {
        const Accumulator &a = totals[k];
        if (a.empty()) { // a sample not reached yet: never in a finished run with walkers
            LGV_REQUIRE(walkers == 0, source, ": sample ", k, " holds no totals; the file's run ",
                        "has ", walkers, " walkers (the file is damaged or was edited)");
            continue;
        }
        LGV_REQUIRE(a.marginal.size() == n.marginal && a.joint.size() == n.joint &&
                        a.basins.size() == basins && a.passage.size() == n.passage &&
                        a.sums.size() == std::size_t(moment_width(dim)) &&
                        (a.best_position.empty() || a.best_position.size() == std::size_t(dim)),
                    source, ": sample ", k, "'s totals do not fit its study (", dim,
                    "-D, histogram, basins, first passage): the file is damaged or was edited");
        // The counts add up: every histogram (each axis, the joint one, the first-passage one)
        // counts each walker once, the finite ones are the moment sums' count, and the basins
        // and the box's outside count finite walkers only.
        const auto damaged = [&](const auto &...what) {
            throw Error(detail::concat(source, ": sample ", k, "'s counts do not add up: ", what...,
                                       " (the file is damaged or was edited)"));
        };
        const std::size_t bins0 = std::size_t(study.grid.axes[0].bins);
        const std::optional<std::uint64_t> all = count_total(a.marginal, 0, bins0 + 2);
        if (!all)
            damaged("its histogram's counts overflow");
        if (walkers > 0 && *all != walkers)
            damaged("it counts ", *all, " walkers; the file's run has ", walkers);
        std::size_t from = 0;
        for (int d = 0; d < dim; ++d) {
            const std::size_t size = std::size_t(study.grid.axes[d].bins) + 2;
            if (count_total(a.marginal, from, size) != all)
                damaged("the histogram of coordinate ", d, " does not count the ", *all,
                        " walkers of coordinate 0's");
            from += size;
        }
        if (!a.joint.empty() && count_total(a.joint, 0, a.joint.size()) != all)
            damaged("the joint histogram does not count the ", *all, " walkers of the marginal");
        if (!a.passage.empty() && count_total(a.passage, 0, a.passage.size()) != all)
            damaged("the first-passage histogram does not count the ", *all,
                    " walkers of the marginal");
        const std::uint64_t nonfinite = a.marginal[bins0 + 1], finite = *all - nonfinite;
        if (a.sum(0) != double(finite))
            damaged("the moment sums count ", a.sum(0), " finite walkers, the histogram ", finite);
        const std::optional<std::uint64_t> in_basins = count_total(a.basins, 0, a.basins.size());
        if (!in_basins || *in_basins > finite || a.outside > finite)
            damaged("more walkers in basins or outside the range than the ", finite, " finite");
    }
}

void check_stored_state(const Study &study, const RunState &state, const std::string &source) {
    // An MPI rank's starting checkpoint (nothing done yet) holds no samples.
    const bool untouched = state.chunk_walkers == 0 && state.chunk == 0 && state.step == 0 &&
                           state.next_sample == 0 && state.walkers.x.empty();
    if (untouched && state.samples.empty())
        return;
    check_stored_totals(study, state.samples, source);
    const WalkerRange range = shard_range(study.walkers, study.shard);
    const std::uint64_t own = range.end - range.begin, chunk = state.chunk_walkers;
    const auto damaged = [&](const std::string &what) {
        throw Error(detail::concat(source, ": ", what, " (the file is damaged or was edited)"));
    };
    if (chunk == 0 && (state.chunk != 0 || state.step != 0 || !state.walkers.x.empty()))
        damaged("progress is recorded, but no chunk size");
    if (chunk == 0)
        return;
    if ((chunk % kMomentBlock != 0 && chunk != own) || chunk > own)
        damaged(detail::concat("its chunk size ", chunk, " does not fit the ", own, " walkers"));
    if (state.chunk > (own + chunk - 1) / chunk)
        damaged(detail::concat("chunk ", state.chunk, " is past the last"));
    if (state.step > study.steps)
        damaged(detail::concat("step ", state.step, " is past the study's ", study.steps));
    const std::vector<std::uint64_t> &at = study.samples;
    const std::size_t next = state.next_sample;
    if (next > at.size() || (next > 0 && at[next - 1] > state.step) ||
        (next < at.size() && at[next] < state.step))
        damaged(detail::concat("its next sample ", next, " does not follow step ", state.step));
    if (state.walkers.x.empty())
        return;
    const std::uint64_t first = state.chunk * chunk;
    const std::uint64_t count = first < own ? std::min(chunk, own - first) : 0;
    const std::size_t values = std::size_t(count) * std::size_t(study.model.dim());
    if (state.walkers.x.size() != values || state.walkers.v.size() != values ||
        state.walkers.hit.size() != (study.model.target.active() ? count : 0))
        damaged(detail::concat("its walkers do not fit chunk ", state.chunk, " (", count,
                               " walkers, ", study.model.dim(), "-D)"));
}

RunResult run_study(const Study &study, const RunHooks &hooks, RunState *resume) {
    auto backend = make_backend(study.backend, study.options);
    return run_study(study, *backend, hooks, resume);
}

RunResult run_study(const Study &study, Backend &backend, const RunHooks &hooks, RunState *resume) {
    const auto start = Clock::now();
    const Model &model = study.model;
    const int dim = model.dim();
    const int width = moment_width(dim);
    const std::vector<std::uint64_t> &samples = study.samples;
    LGV_REQUIRE(!samples.empty() && samples.back() == study.steps,
                "internal: samples must end at the last step");

    // Chunks (and shards) are whole moment blocks, so block sums never straddle two chunks.
    const WalkerRange range = shard_range(study.walkers, study.shard);
    std::uint64_t chunk = study.chunk ? study.chunk : backend.max_chunk_walkers(model);
    chunk = std::max(kMomentBlock, chunk / kMomentBlock * kMomentBlock);
    chunk = std::min(chunk, range.end - range.begin);

    RunState state;
    if (resume)
        state = std::move(*resume);
    // A resumed run keeps the chunk size it started with (chunk indices refer to it), whatever
    // memory this machine or backend has.
    if (state.chunk_walkers > 0)
        chunk = std::min(state.chunk_walkers, range.end - range.begin);
    state.chunk_walkers = chunk;
    state.samples.resize(samples.size());

    const ObserveSpec spec = observe_spec(study);

    RunResult result;
    result.backend = backend.name();
    result.device = backend.device();
    result.walkers = study.walkers;
    result.steps = study.steps;
    result.chunk_walkers = chunk;
    result.range = range;
    result.chunks = state.chunk; // a resumed run counts the chunks finished before it too

    const std::uint64_t own = range.end - range.begin;
    const double total = double(own) * double(study.steps);
    const double done_before = [&] {
        const std::uint64_t finished = std::min(state.chunk * chunk, own);
        const std::uint64_t current = std::min(chunk, own - finished);
        return double(finished) * double(study.steps) + double(current) * double(state.step);
    }();
    double done = done_before;
    const double seconds_before = state.seconds;
    auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - start).count(); };
    auto last_report = Clock::now();
    const std::shared_ptr<ReferenceCache> kept =
        hooks.references ? hooks.references : make_reference_cache(study);
    ReferenceCache &cache = *kept;
    cache.boltzmann.interrupt_when(hooks.interrupted);
    SampleResult latest;
    bool have_latest = false;
    auto report = [&](bool force) {
        if (!hooks.progress || (!force && Clock::now() - last_report < std::chrono::seconds(2)))
            return;
        last_report = Clock::now();
        const double secs = elapsed();
        hooks.progress(done, total, secs > 0 ? (done - done_before) / secs : 0.0,
                       have_latest ? &latest : nullptr);
    };
    auto phase = [&](const std::string &what) {
        if (hooks.phase)
            hooks.phase(what);
    };
    auto checkpoint = [&]() {
        if (!hooks.checkpoint)
            return;
        backend.save(state.walkers);
        state.seconds = seconds_before + elapsed();
        hooks.checkpoint(state);
        state.walkers = WalkerState{};
    };

    // Segments of the stepping loop adapt to take ~0.1-0.5 s, so that progress, checkpoints and
    // interruptions stay responsive; how steps are split never changes a result.
    std::uint64_t segment = 16;
    for (; state.chunk * chunk < own && !result.stopped; ++state.chunk) {
        const std::uint64_t first = range.begin + state.chunk * chunk;
        const std::uint64_t count = std::min(chunk, range.end - first);
        if (!state.walkers.x.empty()) {
            backend.load(model, first, state.walkers);
            state.walkers = WalkerState{};
        } else {
            backend.initialize(model, study.init, first, count);
            state.step = 0;
            state.next_sample = 0;
        }
        // Each call advances one segment and observes every sample inside it.
        while (state.next_sample < samples.size()) {
            std::vector<std::uint64_t> at; // sample offsets within this call
            std::uint64_t n = 0;
            if (samples[state.next_sample] > state.step) {
                n = std::min(segment, samples.back() - state.step);
                if (study.checkpoint_every > 0)
                    n = std::min(n, study.checkpoint_every - state.step % study.checkpoint_every);
                for (std::size_t k = state.next_sample;
                     k < samples.size() && samples[k] <= state.step + n; ++k)
                    at.push_back(samples[k] - state.step);
            } else {
                at.push_back(0); // a sample at the current step (step 0 of a zero-step study)
            }
            const auto t0 = Clock::now();
            std::vector<Observation> observations;
            if (n == 0)
                observations.push_back(backend.observe(model, spec));
            else if (at.empty())
                backend.advance(model, state.step, n, study.schedule.table(state.step, n));
            else
                observations = backend.advance_and_observe(
                    model, state.step, n, study.schedule.table(state.step, n), spec, at);
            LGV_REQUIRE(observations.size() == at.size(), "internal: backend ", backend.name(),
                        " returned ", observations.size(), " observations for ", at.size(),
                        " samples");
            const double took = std::chrono::duration<double>(Clock::now() - t0).count();
            state.step += n;
            done += double(count) * double(n);
            if (took < 0.1 && n == segment && segment < (std::uint64_t(1) << 24))
                segment *= 2;
            else if (took > 0.5 && segment > 1)
                segment /= 2;
            const std::size_t before = state.next_sample;
            for (const Observation &obs : observations) {
                const std::uint64_t target = samples[state.next_sample];
                state.samples[state.next_sample].add(obs, width);
                ++state.next_sample;
                const std::uint64_t nonfinite = obs.marginal[study.grid.axes[0].bins + 1];
                if (nonfinite > 0 && study.stop_on_nonfinite) {
                    result.stopped = true;
                    result.stop_reason = detail::concat(
                        nonfinite, " walker(s) of chunk ", state.chunk, " (walkers ", first, "..",
                        first + count - 1, ") became non-finite by step ", target, " (sample ",
                        state.next_sample, "); ", nonfinite_remedy(study),
                        "; or on_nonfinite = \"drop\" to exclude them and go on");
                    break;
                }
            }
            if (result.stopped)
                break;
            const auto where = [&] {
                return detail::concat(" at step ", state.step, " of chunk ", state.chunk);
            };
            // Progress shows the latest of the samples 1, 8, 16, ... and the last.
            std::size_t shown = have_latest || state.next_sample == before ? 0 : before + 1;
            for (std::size_t k = before + 1; k <= state.next_sample; ++k)
                if (k == samples.size() || k % 8 == 0)
                    shown = k;
            if (shown > 0 && hooks.progress && hooks.progress_summaries) {
                const double kT = sample_temperature(study, samples[shown - 1]);
                if (cache.by_temperature.count(kT) == 0)
                    phase(detail::concat("computing the Boltzmann references at T = ", kT));
                try {
                    latest = summarise(study, samples[shown - 1], state.samples[shown - 1], cache);
                } catch (const Interrupted &e) {
                    checkpoint(); // every sample taken so far is in it
                    throw Interrupted(e.what() + where());
                }
                have_latest = true;
            }
            report(false);
            if (hooks.interrupted && hooks.interrupted()) {
                checkpoint();
                throw Interrupted("interrupted" + where());
            }
            if (study.checkpoint_every > 0 && state.step % study.checkpoint_every == 0 &&
                state.next_sample < samples.size())
                checkpoint();
        }
        ++result.chunks;
        if (hooks.checkpoint && study.checkpoint_every > 0 && !result.stopped) {
            // The chunk is done: a resume starts the next one.
            state.step = 0;
            state.next_sample = 0;
            ++state.chunk;
            state.seconds = seconds_before + elapsed();
            hooks.checkpoint(state);
            --state.chunk;
        }
    }
    report(true);
    if (hooks.checkpoint && hooks.checkpoint_when_done && !result.stopped) {
        state.step = 0;
        state.next_sample = 0;
        state.seconds = seconds_before + elapsed();
        hooks.checkpoint(state);
    }

    // The references and the trajectories may take a while after the last step. Interrupted then,
    // the run checkpoints itself as finished, and a resume starts here. A run that stopped early
    // finishes (its checkpoint could not say that it stopped).
    const std::function<bool()> interrupted = result.stopped ? nullptr : hooks.interrupted;
    cache.boltzmann.interrupt_when(interrupted);
    try {
        if (hooks.summarise) { // with the progress reports' references
            phase("computing the Boltzmann references");
            summarise_samples(study, state.samples, result, cache);
        }
        // Walkers 0..M-1 belong to the (first non-empty) shard that starts at walker 0.
        if (range.begin == 0 && range.end > 0 && study.trajectories > 0 &&
            study.trajectory_every > 0) {
            phase("recording the trajectories");
            result.trajectories = record_trajectories(study, backend, interrupted);
        }
    } catch (const Interrupted &e) {
        if (hooks.checkpoint) {
            state.step = 0;
            state.next_sample = 0;
            state.seconds = seconds_before + elapsed();
            hooks.checkpoint(state);
        }
        throw Interrupted(std::string(e.what()) + ", after the last step");
    }
    result.accumulators = std::move(state.samples);
    result.seconds = seconds_before + elapsed();
    result.walker_steps_per_second = result.seconds > 0 ? done / result.seconds : 0.0;
    return result;
}

void summarise_run(const Study &study, const std::vector<Accumulator> &totals, RunResult &result,
                   const std::function<bool()> &interrupted, ReferenceCache *references) {
    std::optional<ReferenceCache> own;
    if (!references)
        own.emplace(study);
    ReferenceCache &cache = references ? *references : *own;
    cache.boltzmann.interrupt_when(interrupted);
    summarise_samples(study, totals, result, cache);
}

WalkerRange shard_range(std::uint64_t walkers, Shard shard) {
    LGV_REQUIRE(shard.count >= 1 && shard.index < shard.count, "shard ", shard.index, "/",
                shard.count, ": want i/K with K >= 1 and 0 <= i < K");
    const std::uint64_t blocks = (walkers + kMomentBlock - 1) / kMomentBlock;
    // floor(i * blocks / K) without overflow for any realistic sizes (blocks < 2^40, K < 2^20).
    auto edge = [&](std::uint64_t i) {
        const unsigned __int128 b = (unsigned __int128)blocks * i / shard.count;
        return std::min(walkers, std::uint64_t(b) * kMomentBlock);
    };
    return {edge(shard.index), edge(shard.index + 1)};
}

} // namespace langevin
