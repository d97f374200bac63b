// The host loop: chunks of walkers, advanced from sample to sample, reduced, compared.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>

#include "langevin/boltzmann.hpp"
#include "langevin/observe.hpp"
#include "langevin/stats.hpp"
#include "langevin/study.hpp"

namespace langevin {
namespace {

/// A sample's running totals over chunks. Counts add exactly; block sums are added in walker
/// order, so the totals are the same for any chunking.
struct Accumulator {
    std::vector<std::uint64_t> marginal, joint, basins;
    std::vector<double> sums;
    std::uint64_t outside = 0;

    void add(const Observation &o, int width) {
        if (marginal.empty()) {
            marginal.assign(o.marginal.size(), 0);
            joint.assign(o.joint.size(), 0);
            basins.assign(o.basins.size(), 0);
            sums.assign(width, 0.0);
        }
        for (std::size_t k = 0; k < marginal.size(); ++k)
            marginal[k] += o.marginal[k];
        for (std::size_t k = 0; k < joint.size(); ++k)
            joint[k] += o.joint[k];
        for (std::size_t k = 0; k < basins.size(); ++k)
            basins[k] += o.basins[k];
        for (std::size_t b = 0; b < o.block_sums.size() / width; ++b)
            for (int j = 0; j < width; ++j)
                sums[j] += o.block_sums[b * width + j];
        outside += o.outside_box;
    }
};

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
                       std::map<double, std::vector<std::vector<double>>> &reference_cache) {
    const Model &model = study.model;
    const int dim = model.dim();
    const double kT = study.temperature;
    SampleResult s;
    s.step = step;
    s.time = double(step) * model_dt(model);
    s.temperature = kT;
    const double n = acc.sums[0];
    s.finite = static_cast<std::uint64_t>(n);
    s.nonfinite = study.walkers - s.finite;
    s.outside = acc.outside;
    double shift[kMaxDim];
    grid_centres(study.grid, shift);
    s.mean.resize(dim);
    s.var.resize(dim);
    for (int d = 0; d < dim; ++d) {
        const double m1 = acc.sums[3 + d] / n, m2 = acc.sums[3 + dim + d] / n;
        s.mean[d] = shift[d] + m1;
        s.var[d] = n > 1 ? (m2 - m1 * m1) * n / (n - 1) : 0.0;
    }
    s.mean_energy = acc.sums[1] / n;
    if (model.underdamped())
        s.kinetic_temperature = model_mass(model) * acc.sums[2] / (n * dim);

    // References depend only on the temperature here: compute once per T.
    auto &refs = reference_cache[kT];
    const bool joint = dim == 2 && study.grid.joint;
    if (refs.empty()) {
        for (int d = 0; d < dim; ++d)
            refs.push_back(boltzmann_marginal(model, d, study.grid.axes[d], kT));
        refs.push_back(joint ? boltzmann_joint(model, study.grid.axes[0], study.grid.axes[1], kT)
                             : std::vector<double>{});
        refs.push_back(boltzmann_basins(model, study.grid, kT));
    }
    std::size_t offset = 0;
    for (int d = 0; d < dim; ++d) {
        const std::size_t slots = study.grid.axes[d].bins + 2;
        s.histograms.push_back(
            make_histogram({d}, {study.grid.axes[d]}, &acc.marginal[offset], slots, refs[d]));
        offset += slots;
    }
    if (joint)
        s.histograms.push_back(make_histogram({0, 1}, {study.grid.axes[0], study.grid.axes[1]},
                                              acc.joint.data(), acc.joint.size(), refs[dim]));
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

    const std::vector<double> &basin_ref = refs[dim + 1];
    std::visit(
        [&](const auto &pot) {
            for (int b = 0; b < pot.basin_count(); ++b)
                s.basins.push_back({pot.basin_name(b), n > 0 ? double(acc.basins[b]) / n : 0.0,
                                    basin_ref.empty() ? -1.0 : basin_ref[b]});
        },
        model.potential);
    return s;
}

} // namespace

std::vector<std::uint64_t> sample_steps(const Study &study) {
    std::vector<std::uint64_t> steps;
    for (std::uint64_t t = study.sample_every; t < study.steps; t += study.sample_every)
        steps.push_back(t);
    steps.push_back(study.steps);
    return steps;
}

RunResult run_study(const Study &study) {
    auto backend = make_backend(study.backend, study.options);
    return run_study(study, *backend);
}

RunResult run_study(const Study &study, Backend &backend) {
    const auto start = std::chrono::steady_clock::now();
    const Model &model = study.model;
    const int dim = model.dim();
    const int width = moment_width(dim);
    const std::vector<std::uint64_t> steps = sample_steps(study);

    // Chunks are whole moment blocks, so block sums never straddle two chunks.
    std::uint64_t chunk =
        study.chunk ? study.chunk : backend.max_chunk_walkers(dim, model.precision);
    chunk = std::max(kMomentBlock, chunk / kMomentBlock * kMomentBlock);
    chunk = std::min(chunk, study.walkers);

    std::vector<Accumulator> acc(steps.size());
    RunResult result;
    result.backend = backend.name();
    result.device = backend.device();
    result.walkers = study.walkers;
    result.steps = study.steps;
    result.chunk_walkers = chunk;
    for (std::uint64_t first = 0; first < study.walkers; first += chunk) {
        const std::uint64_t count = std::min(chunk, study.walkers - first);
        backend.initialize(model, study.init, first, count);
        std::uint64_t step = 0;
        for (std::size_t k = 0; k < steps.size(); ++k) {
            backend.advance(model, step, steps[k] - step, study.temperature);
            step = steps[k];
            acc[k].add(backend.observe(model, study.grid), width);
        }
        ++result.chunks;
    }

    std::map<double, std::vector<std::vector<double>>> reference_cache;
    for (std::size_t k = 0; k < steps.size(); ++k)
        result.samples.push_back(summarise(study, steps[k], acc[k], reference_cache));
    result.seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.walker_steps_per_second =
        result.seconds > 0 ? double(study.walkers) * double(study.steps) / result.seconds : 0.0;
    return result;
}

} // namespace langevin
