// Throughput of the stepping loop: walker-steps/s (and coordinate-steps/s). One study from a TOML
// file plus --set overrides, or --matrix: {double_well, muller_brown, rastrigin D=8, harmonic} x
// {euler_maruyama, leimkuhler_matthews, baoab} x {float32, float64} x sizes, with and without
// sampling every 100 steps. Timed after a warm-up, median of repeats; JSON lines on stdout.
#include <algorithm>
#include <chrono>
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

double median(std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v.empty() ? 0.0 : v[v.size() / 2];
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
    LGV_REQUIRE(sample_every <= s.steps, "--sample-every ", sample_every, " exceeds the run's ",
                s.steps, " steps: no sample would be taken (give run.steps >= ", sample_every,
                ", or --sample-every 0 for none)");
    for (std::uint64_t t = sample_every; sample_every && t <= s.steps; t += sample_every)
        at.push_back(t);
    std::vector<double> runs, observes, advances;
    std::uint64_t step = kWarmUpSteps;
    for (int r = 0; r < repeats; ++r) {
        const auto start = Clock::now();
        const std::vector<double> kT = s.schedule.table(step, s.steps);
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
        auto t = Clock::now();
        backend.advance(s.model, step, alone, s.schedule.table(step, alone));
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

} // namespace

int main(int argc, char **argv) {
    CLI::App app{"langevin_bench: walker-steps/s of a study, or of the benchmark matrix"};
    std::string study_path;
    std::vector<std::string> overrides;
    std::string backend_name = "auto";
    int repeats = 5;
    std::uint64_t sample_every = 0;
    bool matrix = false, serial = false;
    std::vector<double> sizes = {1e4, 1e5, 1e6, 1e7, 1e8};
    double work = 2e9; // walker-steps per timed repeat in the matrix
    app.add_option("study", study_path, "study file (TOML); not with --matrix");
    app.add_option("--set", overrides, "override a key: section.key=value (repeatable)");
    app.add_option("--backend", backend_name, "auto | cpu | cuda");
    app.add_option("--repeats", repeats, "timed repeats (the median is reported)");
    app.add_option("--sample-every", sample_every,
                   "also observe (histograms + moments) every this many steps (0: never)");
    app.add_flag("--serial-sampling", serial,
                 "sample by advance() + observe() in turn instead of one queued call");
    app.add_flag("--matrix", matrix, "run the benchmark matrix");
    app.add_option("--sizes", sizes, "walker counts of the matrix")->delimiter(',');
    app.add_option("--work", work, "matrix: walker-steps per timed repeat (sets the steps)");
    CLI11_PARSE(app, argc, argv);
    try {
        if (!matrix) {
            LGV_REQUIRE(!study_path.empty(), "give a study file or --matrix");
            const Study s = load_study(study_path, overrides);
            const auto t0 = Clock::now();
            auto backend = make_backend(backend_name, s.options);
            const double creation = seconds_since(t0);
            std::cout << record(s, *backend, measure(s, *backend, repeats, sample_every, serial),
                                sample_every, serial, study_path, creation)
                             .dump()
                      << "\n";
            return 0;
        }
        const auto t0 = Clock::now();
        auto backend = make_backend(backend_name);
        const double creation = seconds_since(t0);
        for (const auto &[name, toml] : kWorkloads)
            for (const char *integ : {"euler_maruyama", "leimkuhler_matthews", "baoab"})
                for (const char *precision : {"float32", "float64"})
                    for (double n : sizes)
                        for (std::uint64_t every : {std::uint64_t(0), std::uint64_t(100)}) {
                            const auto walkers = static_cast<std::uint64_t>(n);
                            const std::uint64_t steps =
                                std::max<std::uint64_t>(100, std::uint64_t(work / n) / 100 * 100);
                            std::vector<std::string> sets = overrides;
                            sets.push_back(std::string("integrator.kind=") + integ);
                            sets.push_back(std::string("ensemble.precision=") + precision);
                            sets.push_back("ensemble.walkers=" + std::to_string(walkers));
                            sets.push_back("run.steps=" + std::to_string(steps));
                            const Study s = parse_study(toml, name, sets);
                            std::cout
                                << record(s, *backend, measure(s, *backend, repeats, every, serial),
                                          every, serial, name, creation)
                                       .dump()
                                << std::endl;
                        }
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
