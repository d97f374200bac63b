// Throughput of the stepping loop: walker-steps/s (and coordinate-steps/s). One study from a TOML
// file plus --set overrides, or --matrix: {double_well, muller_brown, rastrigin D=8, harmonic} x
// {euler_maruyama, leimkuhler_matthews, baoab} x {float32, float64} x sizes, with and without
// sampling every 100 steps. Timed after a warm-up, median of repeats; JSON lines on stdout.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <ctime>
#include <iostream>
#include <sstream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "langevin/config.hpp"

namespace {

using namespace langevin;
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

struct Measurement {
    double rate = 0, first_step_seconds = 0;
    double observe_seconds = 0; ///< median time of one observe() call alone (0: no sampling)
    double advance_seconds = 0; ///< median time of one advance() of sample_every (or all) steps
};

/// Steps of the warm-up launch: a whole number of step groups for every dimension and precision
/// (a group is 1, 2 or 4 steps, rng.hpp), so the timed launches start group-aligned as a study's
/// segments do; a launch starting inside a group also draws that group's normals.
constexpr std::uint64_t kWarmUpSteps = 4;

/// The median: the middle value, or the mean of the two middle values (as Python's
/// statistics.median, which bench/peers/compare.py applies to the peers).
double median(std::vector<double> v) {
    if (v.empty())
        return 0.0;
    std::sort(v.begin(), v.end());
    const std::size_t h = v.size() / 2;
    return v.size() % 2 ? v[h] : 0.5 * (v[h - 1] + v[h]);
}

/// Refuses, before anything is allocated, what the benchmark cannot time as asked.
void check_timeable(const Study &s, const Backend &backend, std::uint64_t sample_every) {
    LGV_REQUIRE(s.steps > 0, "[run] steps = 0: nothing to time (give run.steps >= 1)");
    LGV_REQUIRE(sample_every <= s.steps, "--sample-every ", sample_every, " exceeds the run's ",
                s.steps, " steps: no sample would be taken (give run.steps >= ", sample_every,
                ", or --sample-every 0 for none)");
    // The benchmark times one chunk holding every walker: it does not split the ensemble.
    LGV_REQUIRE(s.chunk == 0 || s.chunk >= s.walkers, "[ensemble] chunk = ", s.chunk,
                ": the benchmark steps all ", s.walkers,
                " walkers as one chunk (leave chunk unset, or give walkers <= chunk)");
    const std::uint64_t most = backend.max_chunk_walkers(s.model);
    LGV_REQUIRE(s.walkers <= most, "[ensemble] walkers = ", s.walkers, ": more than the ", most,
                " walkers ", backend.name(),
                " can hold at once, and the benchmark steps them as one chunk (`langevin run` "
                "splits larger ensembles into chunks)");
}

/// Initialises, takes a warm-up launch (time to first step: allocation, initial conditions, first
/// launch; the CUDA context exists already, see backend_creation_s), then times `repeats` runs
/// of study.steps steps. With sampling, a run is one advance_and_observe call with a sample every
/// sample_every steps, as a study's segment is (`serial`: the backend-independent sequence of
/// advance() and observe() instead); observe() and advance() alone are timed afterwards.
Measurement measure(const Study &s, Backend &backend, int repeats, std::uint64_t sample_every,
                    bool serial) {
    Measurement m;
    const auto t0 = Clock::now();
    backend.initialize(s.model, s.init, 0, s.walkers);
    backend.advance(s.model, 0, kWarmUpSteps, s.schedule.table(0, kWarmUpSteps));
    m.first_step_seconds = seconds_since(t0);
    const ObserveSpec spec{s.grid, s.init, Axis{0, 1, 0}};
    std::vector<std::uint64_t> at;
    for (std::uint64_t t = sample_every; sample_every && t <= s.steps; t += sample_every)
        at.push_back(t);
    std::vector<double> runs, observes, advances;
    std::uint64_t step = kWarmUpSteps;
    for (int r = 0; r < repeats; ++r) {
        const std::vector<double> kT = s.schedule.table(step, s.steps); // not timed
        const auto start = Clock::now();
        if (at.empty())
            backend.advance(s.model, step, s.steps, kT);
        else if (serial)
            backend.Backend::advance_and_observe(s.model, step, s.steps, kT, spec, at);
        else
            backend.advance_and_observe(s.model, step, s.steps, kT, spec, at);
        step += s.steps;
        runs.push_back(seconds_since(start));
    }
    const std::uint64_t alone = at.empty() ? 0 : std::min(sample_every, s.steps);
    for (int r = 0; r < (alone ? repeats : 0); ++r) {
        const std::vector<double> kT = s.schedule.table(step, alone);
        auto t = Clock::now();
        backend.advance(s.model, step, alone, kT);
        advances.push_back(seconds_since(t));
        step += alone;
        t = Clock::now();
        backend.observe(s.model, spec);
        observes.push_back(seconds_since(t));
    }
    m.rate = double(s.walkers) * double(s.steps) / median(runs);
    m.observe_seconds = median(observes);
    m.advance_seconds = median(at.empty() ? runs : advances);
    return m;
}

std::string today() {
    char date[32];
    const std::time_t now = std::time(nullptr);
    std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
    return date;
}

nlohmann::json record(const Study &s, const Backend &b, const Measurement &m,
                      std::uint64_t sample_every, bool serial, const std::string &label,
                      double backend_creation_s) {
    return {{"date", today()},
            {"label", label},
            {"backend", b.name()},
            {"device", b.device()},
            {"potential",
             std::visit([](const auto &p) { return std::string(p.name); }, s.model.potential)},
            {"integrator",
             std::visit([](const auto &i) { return std::string(i.name); }, s.model.integrator)},
            {"precision", s.model.precision == Precision::float32 ? "float32" : "float64"},
            {"dim", s.model.dim()},
            {"walkers", s.walkers},
            {"steps", s.steps},
            {"sample_every", sample_every},
            // queued: one advance_and_observe call per run; serial: advance() + observe()
            {"sampling", sample_every == 0 ? "none"
                         : serial          ? "serial"
                                           : "queued"},
            {"backend_creation_s", backend_creation_s}, // CUDA: context creation
            {"time_to_first_step_s", m.first_step_seconds},
            {"walker_steps_per_second", m.rate},
            {"observe_s", m.observe_seconds}, // one observe() alone: histograms, moments, best
            {"advance_s", m.advance_seconds}, // one advance() alone: sample_every (or all) steps
            {"coordinate_steps_per_second", m.rate * s.model.dim()}};
}

/// The matrix's workloads: the reference double well and three others, at stable time steps.
const std::vector<std::pair<std::string, std::string>> kWorkloads = {
    {"double_well", "[potential]\nkind = \"double_well\"\ntilt = 0.1\n[integrator]\ndt = 1e-3\n"
                    "[temperature]\nT = 0.5\n[ensemble]\ninit_point = -1.0\n"},
    {"muller_brown", "[potential]\nkind = \"muller_brown\"\n[integrator]\ndt = 1e-5\n"
                     "[temperature]\nT = 10\n[ensemble]\ninit_point = [-0.56, 1.44]\n"},
    {"rastrigin8", "[potential]\nkind = \"rastrigin\"\ndim = 8\n[integrator]\ndt = 1e-3\n"
                   "[temperature]\nT = 0.5\n"},
    {"harmonic", "[potential]\nkind = \"harmonic\"\n[integrator]\ndt = 1e-2\n"
                 "[temperature]\nT = 1\n"},
};

/// Keys the matrix sets for each point: a --set of one would be overwritten.
const std::vector<std::string> kMatrixKeys = {
    "potential.kind", "integrator.kind", "ensemble.precision", "ensemble.walkers", "run.steps"};

/// A CLI11 check that a value is a finite number in [low, high] (CLI::Range lets NaN through);
/// whole = true also asks for a whole number.
CLI::Validator finite_in(double low, double high, bool whole, const std::string &allowed) {
    return CLI::Validator(
        [=](std::string &text) -> std::string {
            double v = 0;
            std::size_t used = 0;
            try {
                v = std::stod(text, &used);
            } catch (const std::exception &) {
                used = 0;
            }
            if (used == 0 || used != text.size() || !std::isfinite(v) || v < low || v > high ||
                (whole && v != std::floor(v)))
                return text + ": must be " + allowed;
            return {};
        },
        allowed);
}

/// One point of the matrix: its study, label and sampling interval.
struct MatrixPoint {
    Study study;
    std::string label, where; ///< the workload; the point, for messages
    std::uint64_t sample_every;
};

/// Every point of the matrix, parsed (and so checked) before anything is timed.
std::vector<MatrixPoint> matrix_points(const std::vector<double> &sizes, double work,
                                       const std::vector<std::string> &overrides) {
    for (const std::string &set : overrides)
        for (const std::string &key : kMatrixKeys)
            LGV_REQUIRE(set.rfind(key + "=", 0) != 0, "--set ", set, ": the matrix sets ", key,
                        " itself for each point (--sizes sets the walkers, --work the steps)");
    std::vector<MatrixPoint> points;
    for (const auto &[name, toml] : kWorkloads)
        for (const char *integ : {"euler_maruyama", "leimkuhler_matthews", "baoab"})
            for (const char *precision : {"float32", "float64"})
                for (double n : sizes) {
                    const auto walkers = static_cast<std::uint64_t>(n);
                    // --work / N rounded down to whole hundreds of steps, at least 100.
                    const std::uint64_t steps = std::max<std::uint64_t>(
                        100, static_cast<std::uint64_t>(work / n) / 100 * 100);
                    std::vector<std::string> sets = overrides;
                    sets.push_back(std::string("integrator.kind=") + integ);
                    sets.push_back(std::string("ensemble.precision=") + precision);
                    sets.push_back("ensemble.walkers=" + std::to_string(walkers));
                    sets.push_back("run.steps=" + std::to_string(steps));
                    const std::string where = "matrix point " + name + ", " + integ + ", " +
                                              precision + ", N = " + std::to_string(walkers);
                    try {
                        const Study s = parse_study(toml, name, sets);
                        for (std::uint64_t every : {std::uint64_t(0), std::uint64_t(100)})
                            points.push_back({s, name, where, every});
                    } catch (const std::exception &e) {
                        throw Error(where + ": " + e.what());
                    }
                }
    return points;
}

/// Writes one JSON line; a failed write (a full disk, a closed pipe) is an error, not a lost
/// figure.
void emit(const nlohmann::json &line) {
    std::cout << line.dump() << std::endl;
    LGV_REQUIRE(std::cout.good(), "could not write the result to standard output");
}

} // namespace

int main(int argc, char **argv) {
    CLI::App app{"langevin_bench: walker-steps/s of a study, or of the benchmark matrix"};
    app.option_defaults()->always_capture_default();
    std::string study_path;
    std::vector<std::string> overrides;
    std::string backend_name;
    // Whole numbers read as doubles: the check names the value and the rule ("1.5", "1e2").
    double repeats_option = 5, sample_every_option = 0;
    bool matrix = false, serial = false;
    std::vector<double> sizes = {1e4, 1e5, 1e6, 1e7, 1e8};
    double work = 2e9; // walker-steps per timed repeat in the matrix
    auto *matrix_flag = app.add_flag("--matrix", matrix, "run the benchmark matrix");
    app.add_option("study", study_path, "study file (TOML)")->excludes(matrix_flag);
    app.add_option("--set", overrides, "override a key: section.key=value (repeatable)");
    app.add_option("--backend", backend_name,
                   "auto | cpu | cuda (default: the study's [backend] kind; the matrix: auto, or "
                   "--set backend.kind)")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    app.add_option("--repeats", repeats_option, "timed repeats (the median is reported)")
        ->check(finite_in(1, 1e6, true, "a whole number of repeats from 1 to 1000000"));
    app.add_option("--sample-every", sample_every_option,
                   "also observe (histograms + moments) every this many steps (0: never)")
        ->check(finite_in(0, 9.2e18, true, "a whole number of steps >= 0 (0: never)"))
        ->excludes(matrix_flag);
    app.add_flag("--serial-sampling", serial,
                 "sample by advance() + observe() in turn instead of one queued call");
    app.add_option("--sizes", sizes, "matrix: walker counts")
        ->delimiter(',')
        ->check(finite_in(1, 9.2e18, true, "a whole number of walkers >= 1"))
        ->needs(matrix_flag);
    app.add_option("--work", work,
                   "matrix: walker-steps per timed repeat (steps = work / N in whole hundreds, at "
                   "least 100)")
        ->check(finite_in(1, 1e18, false, "a number of walker-steps from 1 to 1e18"))
        ->needs(matrix_flag);
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp &e) {
        return app.exit(e);
    } catch (const CLI::ParseError &e) { // as langevin's own errors: "error: ...", exit code 1
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
    // A result written to a closed pipe is an error below, not a silent SIGPIPE.
    std::signal(SIGPIPE, SIG_IGN);
    const int repeats = static_cast<int>(repeats_option);
    const auto sample_every = static_cast<std::uint64_t>(sample_every_option);
    try {
        LGV_REQUIRE(matrix || !study_path.empty(), "give a study file or --matrix");
        LGV_REQUIRE(!serial || matrix || sample_every > 0,
                    "--serial-sampling: only with --sample-every K > 0 (or --matrix), which "
                    "takes the samples");
        if (!matrix) {
            const Study s = load_study(study_path, overrides);
            const auto t0 = Clock::now();
            auto backend = make_backend(backend_name.empty() ? s.backend : backend_name, s.options);
            const double creation = seconds_since(t0);
            check_timeable(s, *backend, sample_every);
            emit(record(s, *backend, measure(s, *backend, repeats, sample_every, serial),
                        sample_every, serial, study_path, creation));
            return 0;
        }
        const std::vector<MatrixPoint> points = matrix_points(sizes, work, overrides);
        const Study &first = points.front().study; // [backend] keys are the same at every point
        const auto t0 = Clock::now();
        auto backend =
            make_backend(backend_name.empty() ? first.backend : backend_name, first.options);
        const double creation = seconds_since(t0);
        for (const MatrixPoint &p : points)
            try {
                check_timeable(p.study, *backend, p.sample_every);
            } catch (const std::exception &e) {
                throw Error(p.where + ": " + e.what());
            }
        for (const MatrixPoint &p : points)
            emit(record(p.study, *backend,
                        measure(p.study, *backend, repeats, p.sample_every, serial), p.sample_every,
                        serial, p.label, creation));
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
