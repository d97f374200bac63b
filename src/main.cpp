// The `langevin` command line.
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include "langevin/config.hpp"
#include "langevin/output.hpp"
#include "langevin/report.hpp"

#ifndef LGV_VERSION
#define LGV_VERSION "0"
#endif

namespace {

std::atomic<int> g_signal{0};
extern "C" void on_signal(int sig) {
    g_signal = sig;
}

bool exists(const std::string &path) {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
}

std::string human_seconds(double s) {
    char buf[32];
    if (s < 120)
        std::snprintf(buf, sizeof buf, "%.0f s", s);
    else if (s < 7200)
        std::snprintf(buf, sizeof buf, "%.1f min", s / 60);
    else
        std::snprintf(buf, sizeof buf, "%.1f h", s / 3600);
    return buf;
}

} // namespace

int main(int argc, char **argv) {
    CLI::App app{"langevin: millions to billions of independent Langevin walkers, compared with "
                 "the Boltzmann law"};
    app.set_version_flag("--version", std::string("langevin ") + LGV_VERSION);
    app.require_subcommand(1);

    auto *run = app.add_subcommand("run", "run a study (TOML) and compare with Boltzmann");
    std::string study_path, output, resume, backend;
    std::vector<std::string> overrides;
    bool as_json = false, quiet = false, force = false;
    run->add_option("study", study_path, "study file (TOML), e.g. data/examples/double_well.toml");
    run->add_option("--set", overrides, "override a key: section.key=value (repeatable)");
    run->add_option("--backend", backend, "auto | cpu | cuda (overrides [backend] kind)")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    run->add_flag("--json", as_json, "print one JSON document on stdout");
    run->add_option("--output,-o", output, "HDF5 output file (overrides [output] file)");
    run->add_flag("--force", force, "overwrite an existing output file");
    run->add_option("--resume", resume, "continue an interrupted run that wrote OUT.h5");
    run->add_flag("--quiet,-q", quiet, "no progress on stderr");

    app.add_subcommand("info", "list backends, devices, potentials and integrators");

    CLI11_PARSE(app, argc, argv);
    try {
        using namespace langevin;
        if (app.got_subcommand("info")) {
            print_info(std::cout);
            return 0;
        }
        Study study;
        RunState state;
        RunState *resume_state = nullptr;
        if (!resume.empty()) {
            LGV_REQUIRE(study_path.empty() && overrides.empty(),
                        "--resume continues the stored study: give no study file or --set");
            const std::string partial =
                resume.size() > 8 && resume.substr(resume.size() - 8) == ".partial"
                    ? resume
                    : checkpoint_path(resume);
            LGV_REQUIRE(exists(partial), "--resume ", resume, ": no checkpoint ", partial,
                        " (it is removed when a run finishes)");
            Checkpoint cp = read_checkpoint(partial);
            study = std::move(cp.study);
            study.output = partial.substr(0, partial.size() - 8);
            state = std::move(cp.state);
            resume_state = &state;
            if (!backend.empty())
                study.backend = backend;
        } else {
            LGV_REQUIRE(!study_path.empty(), "run: give a study file (or --resume OUT.h5)");
            if (!backend.empty())
                overrides.push_back("backend.kind=" + backend);
            study = load_study(study_path, overrides);
            if (!output.empty())
                study.output = output;
            if (!study.output.empty()) {
                LGV_REQUIRE(force || !exists(study.output), study.output,
                            " exists: choose another output or add --force to overwrite it");
                LGV_REQUIRE(force || !exists(checkpoint_path(study.output)),
                            checkpoint_path(study.output),
                            " holds an interrupted run: continue it with --resume ", study.output,
                            ", or add --force to start over");
            }
        }

        RunHooks hooks;
        const bool tty = isatty(STDERR_FILENO);
        if (!quiet)
            hooks.progress = [&](double done, double total, double rate,
                                 const SampleResult *latest) {
                char line[256];
                const double eta = rate > 0 ? (total - done) / rate : 0;
                std::snprintf(line, sizeof line,
                              "%5.1f%%  %.3g/%.3g walker-steps  T %.4g  %.3g walker-steps/s  "
                              "ETA %s  KL %s",
                              total > 0 ? 100 * done / total : 100.0, done, total,
                              latest ? latest->temperature : study.schedule.at(0), rate,
                              human_seconds(eta).c_str(),
                              latest && latest->comparison.available
                                  ? std::to_string(latest->comparison.kl).c_str()
                                  : "n/a");
                if (tty)
                    std::cerr << "\r" << line << "   " << std::flush;
                else
                    std::cerr << line << "\n";
            };
        if (!study.output.empty())
            hooks.checkpoint = [&](const RunState &s) {
                write_checkpoint(checkpoint_path(study.output), study, s);
            };
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        hooks.interrupted = [] { return g_signal != 0; };

        RunResult result;
        try {
            result = run_study(study, hooks, resume_state);
        } catch (const Interrupted &e) {
            if (tty && !quiet)
                std::cerr << "\n";
            if (study.output.empty())
                std::cerr << "interrupted (" << e.what()
                          << "); no output file was set, so nothing was saved\n";
            else
                std::cerr << "interrupted (" << e.what() << "); checkpoint written to "
                          << checkpoint_path(study.output)
                          << "\ncontinue with: langevin run --resume " << study.output << "\n";
            return 128 + g_signal.load();
        }
        if (tty && !quiet)
            std::cerr << "\r" << std::string(110, ' ') << "\r";
        if (!study.output.empty()) {
            write_results(study.output, study, result);
            std::remove(checkpoint_path(study.output).c_str());
        }
        if (as_json) {
            std::cout << result_json(study, result) << "\n";
            const std::string advice = nonfinite_advice(study, result);
            if (!advice.empty())
                std::cerr << advice << "\n";
        } else {
            print_result(std::cout, study, result);
            if (!study.output.empty())
                std::cout << "output     " << study.output << "\n";
        }
        if (result.stopped) {
            std::cerr << "error: " << result.stop_reason << "\n";
            return 3;
        }
        return 0;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
