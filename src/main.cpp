// The `langevin` command line.
#include <iostream>

#include <CLI/CLI.hpp>

#include "langevin/config.hpp"
#include "langevin/report.hpp"

#ifndef LGV_VERSION
#define LGV_VERSION "0"
#endif

int main(int argc, char **argv) {
    CLI::App app{"langevin: millions to billions of independent Langevin walkers, compared with "
                 "the Boltzmann law"};
    app.set_version_flag("--version", std::string("langevin ") + LGV_VERSION);
    app.require_subcommand(1);

    auto *run = app.add_subcommand("run", "run a study (TOML) and compare with Boltzmann");
    std::string study_path;
    std::vector<std::string> overrides;
    std::string backend;
    bool as_json = false;
    run->add_option("study", study_path, "study file (TOML), e.g. data/examples/double_well.toml")
        ->required();
    run->add_option("--set", overrides, "override a key: section.key=value (repeatable)");
    run->add_option("--backend", backend, "auto | cpu | cuda (overrides [backend] kind)")
        ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
    run->add_flag("--json", as_json, "print one JSON document on stdout");

    app.add_subcommand("info", "list backends, devices, potentials and integrators");

    CLI11_PARSE(app, argc, argv);
    try {
        if (app.got_subcommand("info")) {
            langevin::print_info(std::cout);
            return 0;
        }
        if (!backend.empty())
            overrides.push_back("backend.kind=" + backend);
        const langevin::Study study = langevin::load_study(study_path, overrides);
        const langevin::RunResult result = langevin::run_study(study);
        if (as_json) {
            std::cout << langevin::result_json(study, result) << "\n";
            const std::string advice = langevin::nonfinite_advice(study, result);
            if (!advice.empty())
                std::cerr << advice << "\n";
        } else {
            langevin::print_result(std::cout, study, result);
        }
        return 0;
    } catch (const langevin::Error &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}
