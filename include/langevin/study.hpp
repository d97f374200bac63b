// A study (what `langevin run` does) and its results: host-side types.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "langevin/backend.hpp"

namespace langevin {

/// Everything one run needs, resolved and validated (see config.hpp for the TOML keys).
struct Study {
    std::uint64_t walkers = 100000;
    Model model;
    InitSpec init;
    double temperature = 1.0;
    std::uint64_t steps = 1000;
    std::uint64_t sample_every = 1000;
    Grid grid;
    std::string backend = "auto";
    BackendOptions options;
    std::uint64_t chunk = 0;       ///< walkers per chunk (0: as many as fit)
    std::string resolved_json;     ///< the resolved configuration, defaults included
    std::string source = "<none>"; ///< where the study came from
};

/// Empirical vs Boltzmann over one histogram (bins inside the grid only).
struct Comparison {
    bool available = false; ///< false: no reference ("n/a")
    double kl = 0, tv = 0, chi2 = 0, chi2_p = 0;
    int chi2_dof = 0;
};

struct HistogramResult {
    std::vector<int> dims;             ///< {d} for a marginal, {0, 1} for the joint
    std::vector<Axis> axes;            ///< one per entry of dims
    std::vector<std::uint64_t> counts; ///< bins only, row-major for the joint
    std::uint64_t outside = 0, nonfinite = 0;
    std::vector<double> reference; ///< Boltzmann bin probabilities (empty: n/a)
    Comparison comparison;
};

struct BasinResult {
    std::string name;
    double empirical = 0;
    double boltzmann = -1; ///< < 0: n/a
};

struct SampleResult {
    std::uint64_t step = 0;
    double time = 0, temperature = 0;
    Comparison comparison; ///< the headline histogram's (see README)
    int headline = -1;     ///< index into histograms, -1: none
    std::vector<double> mean, var;
    double mean_energy = 0;
    double kinetic_temperature = -1; ///< underdamped only; < 0: n/a
    std::uint64_t finite = 0, outside = 0, nonfinite = 0;
    std::vector<BasinResult> basins;
    std::vector<HistogramResult> histograms;
};

struct RunResult {
    std::string backend, device;
    std::uint64_t walkers = 0, steps = 0, chunks = 0, chunk_walkers = 0;
    double seconds = 0, walker_steps_per_second = 0;
    std::vector<SampleResult> samples;
};

/// Steps at which a study samples: sample_every, 2 sample_every, ..., and always the last step.
std::vector<std::uint64_t> sample_steps(const Study &study);

/// Runs a study on the backend it names.
RunResult run_study(const Study &study);

/// Runs a study on a given backend (tests use it to vary backends and options).
RunResult run_study(const Study &study, Backend &backend);

} // namespace langevin
