// A study (what `langevin run` does) and its results: host-side types.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "langevin/backend.hpp"
#include "langevin/exact_sum.hpp"
#include "langevin/schedule.hpp"
#include "langevin/sgd.hpp"

namespace langevin {

/// Shard `index` of `count`: one contiguous block of the global walker range (`--shard i/K`, or
/// MPI rank i of K). Walker ids, hence random streams, stay global.
struct Shard {
    std::uint64_t index = 0, count = 1;
};

/// Walkers [begin, end).
struct WalkerRange {
    std::uint64_t begin = 0, end = 0;
};

/// Walkers of a shard: whole moment blocks (kMomentBlock), near-equal, contiguous and together
/// covering 0..walkers-1 (a shard is empty when there are fewer blocks than shards).
WalkerRange shard_range(std::uint64_t walkers, Shard shard);

/// Everything one run needs, resolved and validated (see config.hpp for the TOML keys).
struct Study {
    std::uint64_t walkers = 100000;
    Model model;
    InitSpec init;
    Schedule schedule;
    std::uint64_t steps = 1000;
    std::vector<std::uint64_t> samples; ///< steps at which to sample, increasing, last = steps
    Grid grid;
    int passage_bins = 0;               ///< first-passage time histogram bins (0: no target)
    std::uint64_t trajectories = 0;     ///< record walkers 0..M-1 ...
    std::uint64_t trajectory_every = 0; ///< ... every this many steps
    std::uint64_t checkpoint_every = 0; ///< steps between checkpoints (0: none)
    bool stop_on_nonfinite = true;      ///< on_nonfinite = "stop" (else "drop")
    std::string output;                 ///< HDF5 file ("" : none)
    std::string backend = "auto";
    BackendOptions options;
    std::uint64_t chunk = 0;       ///< walkers per chunk (0: as many as fit)
    Shard shard;                   ///< which walkers this process runs (not in resolved_*)
    SgdTheory sgd;                 ///< integrator sgd: w*, tr C, T_eff per unit lr, exact moments
    std::string resolved_json;     ///< the resolved configuration, defaults included
    std::string resolved_toml;     ///< the same as TOML (what --resume reads back)
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

/// "n/a" for doubles: NaN (null in JSON).
constexpr double kNotAvailable = __builtin_nan("");

struct SampleResult {
    std::uint64_t step = 0;
    double time = 0, temperature = 0;
    Comparison comparison; ///< the headline histogram's (see README)
    int headline = -1;     ///< index into histograms, -1: none
    std::vector<double> mean, var;
    double mean_energy = 0;
    double kinetic_temperature = kNotAvailable; ///< underdamped only
    std::uint64_t finite = 0, outside = 0, nonfinite = 0;
    std::vector<BasinResult> basins;
    std::vector<HistogramResult> histograms;
    double global_basin_fraction = kNotAvailable, global_basin_boltzmann = kNotAvailable;
    double best_energy = kNotAvailable; ///< lowest energy of any walker at any sample so far
    std::vector<double> best_position;
    double boltzmann_mean_energy = kNotAvailable;
    double energy_lag_z = kNotAvailable; ///< (<E> - <E>_Boltzmann) / standard error
    double msd = 0, msd_einstein = kNotAvailable;
    /// Free motion at constant T: the integrator's own exact MSD at its dt (n/a otherwise).
    double msd_exact = kNotAvailable;
    std::uint64_t hits = 0;          ///< walkers that reached the target by this step
    double survival = kNotAvailable; ///< fraction that has not (n/a without a target)
};

struct FirstPassageResult {
    bool active = false;
    std::uint64_t hits = 0, censored = 0;
    double mean = kNotAvailable, standard_error = kNotAvailable; ///< over walkers that hit
    double exact = kNotAvailable; ///< exact MFPT of the Euler-Maruyama chain (1-D overdamped)
    double exact_continuum = kNotAvailable; ///< the same for the continuous dynamics (dt -> 0)
    double kramers = kNotAvailable;         ///< 1 / Kramers rate
    Axis axis;                              ///< passage-time histogram, in time units
    std::vector<std::uint64_t> counts;
};

struct Trajectories {
    std::vector<std::uint64_t> steps;
    std::vector<double> positions; ///< [record][walker][d]
    std::uint64_t walkers = 0;
    int dim = 1;
};

/// Running totals of one sample over chunks, shards or ranks. Counts add as integers, block sums
/// exactly (ExactSum), and the best walker is an order-independent minimum: totals are bitwise
/// the same for any chunking and any split of the walkers.
struct Accumulator {
    std::vector<std::uint64_t> marginal, joint, basins, passage;
    std::vector<ExactSum> sums;
    std::uint64_t outside = 0;
    Best best;
    std::vector<double> best_position;
    void add(const Observation &o, int width);
    void merge(const Accumulator &o);
    double sum(int j) const { return sums[std::size_t(j)].value(); }
    bool empty() const { return sums.empty(); }
};

struct RunResult {
    std::string backend, device;
    std::uint64_t walkers = 0, steps = 0, chunks = 0, chunk_walkers = 0;
    WalkerRange range; ///< the walkers this run stepped (all of them unless sharded)
    double seconds = 0, walker_steps_per_second = 0;
    std::vector<SampleResult> samples;
    FirstPassageResult first_passage;
    Trajectories trajectories;
    bool stopped = false; ///< on_nonfinite = "stop" ended the run early
    std::string stop_reason;
    std::vector<Accumulator> accumulators; ///< the raw totals per sample (what shards merge)
};

/// Where a run is: what a checkpoint holds (besides the study).
struct RunState {
    std::uint64_t chunk = 0;         ///< index of the chunk in progress
    std::uint64_t step = 0;          ///< its step
    std::uint64_t next_sample = 0;   ///< samples before this one are in `samples` for this chunk
    std::uint64_t chunk_walkers = 0; ///< the run's chunk size (0: not started)
    std::vector<Accumulator> samples;
    WalkerState walkers; ///< the chunk in progress (empty: start it fresh)
    double seconds = 0;  ///< wall time spent so far
};

/// The Boltzmann references that the summaries of one model and grid have computed, by
/// temperature, with what they share (opaque). A run hands its own to the summary of merged
/// totals (MPI rank 0), so that no temperature is computed twice.
struct ReferenceCache;
std::shared_ptr<ReferenceCache> make_reference_cache(const Study &study);

/// Progress and control hooks of a running study (all optional).
struct RunHooks {
    /// Called every few seconds: walker-steps done, total, latest sample (or null).
    std::function<void(double done, double total, double rate, const SampleResult *latest)>
        progress;
    /// Called with the state to checkpoint (every checkpoint_every steps and on interruption).
    std::function<void(const RunState &)> checkpoint;
    /// Polled between kernel launches, and in the loops of the Boltzmann references, from
    /// several threads at once (so it must be thread-safe and must not throw): true stops the
    /// run after a checkpoint, after its last step too (its result is then dropped: a
    /// checkpoint hook keeps it for a resume). Not polled after the last step of a run that
    /// stopped early (on_nonfinite = "stop"): its checkpoint could not say so.
    std::function<bool()> interrupted;
    /// Also checkpoint when the run is done (MPI ranks: a finished rank survives interruption).
    bool checkpoint_when_done = false;
    /// Whether the progress hook is given the latest sample's summary, its Boltzmann references
    /// computed on the way (samples 8, 16, ..., the last, and the first this call takes).
    bool progress_summaries = true;
    /// Whether the result's samples are summarised, with their references. False leaves them
    /// empty beside the accumulators, for a caller that merges several runs' accumulators and
    /// summarises them once (MPI ranks).
    bool summarise = true;
    /// Told, before it starts, what may keep the run from its next progress report: computing
    /// the Boltzmann references (of a new T during the run; all of them after the last step),
    /// recording the trajectories.
    std::function<void(const std::string &what)> phase;
    /// Where the summaries keep their references (null: the run's own), for a caller that
    /// summarises merged totals of the same study afterwards (summarise_run, merge_shards).
    std::shared_ptr<ReferenceCache> references;
};

/// The schedule line of reports and output files: the temperature schedule, or for SGD its
/// batch, learning rate and SGLD temperature.
std::string schedule_text(const Study &study);

/// Sample steps from `samples = K` (linear or log spacing) or `sample_every`.
std::vector<std::uint64_t> sample_steps_linear(std::uint64_t steps, std::uint64_t every);
std::vector<std::uint64_t> sample_steps_count(std::uint64_t steps, std::uint64_t count, bool log);

/// Fills result.samples and result.first_passage from per-sample totals (those of one run, or
/// of shards merged in any order). `interrupted` is polled while the Boltzmann references are
/// computed, from several threads at once: true throws Interrupted. `references`: those already
/// computed for this study's model and grid (RunHooks::references), added to; null: none.
void summarise_run(const Study &study, const std::vector<Accumulator> &totals, RunResult &result,
                   const std::function<bool()> &interrupted = {},
                   ReferenceCache *references = nullptr);

/// Runs a study on the backend it names.
RunResult run_study(const Study &study, const RunHooks &hooks = {}, RunState *resume = nullptr);

/// Refuses, before a step, a study whose results could not fit in this machine's memory: every
/// sample's histograms are kept (with their Boltzmann reference) until the end, and so are the
/// trajectories. The message names the keys and what they need.
void check_host_memory(const Study &study);

/// What to try when walkers became non-finite: a step (or SGD learning rate) ten times smaller,
/// and in float32 also float64 (an energy beyond 3.4e38 overflows float32 at any step).
std::string nonfinite_remedy(const Study &study);

/// Refuses stored totals (a checkpoint's or a shard's, read from `source`) whose shapes do not
/// fit `study`, or whose counts do not add up (each histogram counts every walker once, and
/// `walkers` of them when that is known, not 0): a damaged or edited file is an error, never a
/// crash or a wrong result.
void check_stored_totals(const Study &study, const std::vector<Accumulator> &totals,
                         const std::string &source, std::uint64_t walkers = 0);
/// The same for a whole checkpoint: its totals, counters and walkers.
void check_stored_state(const Study &study, const RunState &state, const std::string &source);

/// Runs a study on a given backend (tests use it to vary backends and options).
RunResult run_study(const Study &study, Backend &backend, const RunHooks &hooks = {},
                    RunState *resume = nullptr);

} // namespace langevin
