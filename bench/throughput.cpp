// Throughput of the stepping loop: walker-steps/s (and coordinate-steps/s) for one study, timed
// after a warm-up, median of several repeats. The study comes from a TOML file plus --set
// overrides, exactly as `langevin run` takes it.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <iostream>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "langevin/config.hpp"

int main(int argc, char **argv) {
    CLI::App app{"langevin_bench: walker-steps/s of one study"};
    std::string study_path;
    std::vector<std::string> overrides;
    std::string backend_name = "auto";
    int repeats = 5;
    std::uint64_t sample_every = 0;
    app.add_option("study", study_path, "study file (TOML)")->required();
    app.add_option("--set", overrides, "override a key: section.key=value (repeatable)");
    app.add_option("--backend", backend_name, "auto | cpu | cuda");
    app.add_option("--repeats", repeats, "timed repeats (the median is reported)");
    app.add_option("--sample-every", sample_every,
                   "also observe (histograms + moments) every this many steps (0: never)");
    CLI11_PARSE(app, argc, argv);
    try {
        using namespace langevin;
        const Study s = load_study(study_path, overrides);
        auto backend = make_backend(backend_name, s.options);
        const auto t0 = std::chrono::steady_clock::now();
        backend->initialize(s.model, s.init, 0, s.walkers);
        backend->advance(s.model, 0, 1,
                         s.schedule.table(0, 1)); // context, allocation, first launch
        const double first_step_s =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::vector<double> rates;
        std::uint64_t step = 1;
        for (int r = 0; r < repeats; ++r) {
            const auto start = std::chrono::steady_clock::now();
            if (sample_every == 0) {
                backend->advance(s.model, step, s.steps, s.schedule.table(step, s.steps));
            } else {
                for (std::uint64_t done = 0; done < s.steps; done += sample_every) {
                    const std::uint64_t n = std::min(sample_every, s.steps - done);
                    backend->advance(s.model, step + done, n, s.schedule.table(step + done, n));
                    backend->observe(s.model, ObserveSpec{s.grid, s.init, Axis{0, 1, 0}});
                }
            }
            step += s.steps;
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            rates.push_back(double(s.walkers) * double(s.steps) / secs);
        }
        std::sort(rates.begin(), rates.end());
        const double median = rates[rates.size() / 2];
        char date[32];
        const std::time_t now = std::time(nullptr);
        std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&now));
        nlohmann::json out = {
            {"date", date},
            {"backend", backend->name()},
            {"device", backend->device()},
            {"study", study_path},
            {"overrides", overrides},
            {"walkers", s.walkers},
            {"steps", s.steps},
            {"dim", s.model.dim()},
            {"precision", s.model.precision == Precision::float32 ? "float32" : "float64"},
            {"sample_every", sample_every},
            {"repeats", repeats},
            {"time_to_first_step_s", first_step_s},
            {"walker_steps_per_second", median},
            {"coordinate_steps_per_second", median * s.model.dim()}};
        std::cout << out.dump() << "\n";
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
