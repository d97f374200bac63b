// The `langevin` command line.
#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "langevin/config.hpp"
#include "langevin/output.hpp"
#include "langevin/report.hpp"
#include "ranks.hpp"

#ifndef LGV_PLOT_SCRIPT
#define LGV_PLOT_SCRIPT "langevin_plot.py"
#endif
#ifndef LGV_PYTHON
#define LGV_PYTHON "python3"
#endif
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

/// Refuses, before any step is taken, an output file that could not be written (a folder, or
/// in a folder that is missing or read-only) or that is one of the command's own inputs (which
/// the results would replace, --force or not). `what` names the setting.
void check_output(const std::string &what, const std::string &path,
                  const std::vector<std::string> &inputs) {
    namespace fs = std::filesystem;
    LGV_REQUIRE(!path.empty(), what, " is empty: give a file name such as results.h5");
    std::error_code ec;
    LGV_REQUIRE(!fs::is_directory(path, ec), what, " = ", path,
                ": is a folder; give a file name such as ",
                (fs::path(path) / "results.h5").string());
    // A device, pipe or socket at the output would be replaced by a file (--force or not).
    const fs::file_status status = fs::status(path, ec);
    LGV_REQUIRE(!fs::exists(status) || fs::is_regular_file(status), what, " = ", path,
                ": is not a regular file (a device, pipe or socket), which the results would "
                "replace; give a file name such as results.h5");
    const fs::path folder = fs::path(path).has_parent_path() ? fs::path(path).parent_path() : ".";
    LGV_REQUIRE(fs::is_directory(folder, ec), what, " = ", path, ": the folder ", folder.string(),
                " does not exist");
    LGV_REQUIRE(::access(folder.c_str(), W_OK | X_OK) == 0, what, " = ", path,
                ": cannot write in the folder ", folder.string(), " (", std::strerror(errno), ")");
    for (const std::string &input : inputs)
        LGV_REQUIRE(input.empty() || !exists(path) || !fs::equivalent(path, input, ec), what, " = ",
                    path, " is also an input of this command (", input,
                    "): the results would replace it; choose another output");
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

/// The plotting script: LANGEVIN_PLOT_SCRIPT, else installed beside the binary
/// (PREFIX/share/langevin), else the source tree it was built from.
std::string plot_script() {
    if (const char *env = std::getenv("LANGEVIN_PLOT_SCRIPT"))
        return env;
    char exe[4096];
    const ssize_t n = ::readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        std::string dir(exe, std::size_t(n));
        dir = dir.substr(0, dir.find_last_of('/'));
        const std::string installed = dir + "/../share/langevin/langevin_plot.py";
        if (exists(installed))
            return installed;
    }
    return LGV_PLOT_SCRIPT;
}

/// The Python that runs it: LANGEVIN_PYTHON, else the one found at configure time.
std::string plot_python() {
    if (const char *env = std::getenv("LANGEVIN_PYTHON"))
        return env;
    return LGV_PYTHON;
}

/// "i/K" -> Shard.
langevin::Shard parse_shard(const std::string &text) {
    const auto slash = text.find('/');
    std::size_t used_i = 0, used_k = 0;
    long long i = -1, k = -1;
    try {
        if (slash != std::string::npos) {
            i = std::stoll(text.substr(0, slash), &used_i);
            k = std::stoll(text.substr(slash + 1), &used_k);
        }
    } catch (const std::exception &) {
        i = k = -1;
    }
    LGV_REQUIRE(slash != std::string::npos && used_i == slash &&
                    used_k == text.size() - slash - 1 && k >= 1 && i >= 0 && i < k,
                "--shard ", text, ": want i/K, shard i of K with 0 <= i < K (e.g. --shard 0/4)");
    return {std::uint64_t(i), std::uint64_t(k)};
}

/// Ends the part of `langevin run` that every rank runs alike (reading the study, checking the
/// output): true when it failed on any rank. This rank's error is printed unless rank 0 prints
/// the same one, so a bad study is reported once, and no rank is left waiting (no abort).
bool setup_failed(langevin::Ranks &ranks, const std::string &error) {
    std::string root_error;
    if (!ranks.any_failed(error, &root_error))
        return false;
    // One write per line: the ranks share stderr, and pieces written apart interleave.
    std::string line;
    if (ranks.root() && !error.empty())
        line = "error: " + error + "\n";
    else if (!error.empty() && error != root_error)
        line = langevin::detail::concat("error: (rank ", ranks.rank(), " of ", ranks.size(), ") ",
                                        error, "\n");
    if (!line.empty() && ::write(STDERR_FILENO, line.data(), line.size()) < 0)
        std::cerr << line; // as a last resort
    return true;
}

/// Where a rank keeps its checkpoint: ranks of one MPI job share the output file.
std::string rank_checkpoint(const std::string &output, const langevin::Ranks &ranks) {
    using langevin::checkpoint_path;
    if (ranks.size() == 1)
        return checkpoint_path(output);
    return output + ".rank-" + std::to_string(ranks.rank()) + "-of-" +
           std::to_string(ranks.size()) + ".partial";
}

/// A finished run's checkpoint goes, with any half-written one a SIGKILL left beside it.
void remove_checkpoint(const std::string &partial) {
    std::remove(partial.c_str());
    std::remove((partial + ".tmp").c_str());
}

int run_main(int argc, char **argv, langevin::Ranks &ranks);

} // namespace

int main(int argc, char **argv) {
    langevin::Ranks ranks(&argc, &argv);
    const int status = run_main(argc, argv, ranks);
    // Results that stdout could not take (a full disk, a closed pipe) are a failure too.
    if (!(std::cout << std::flush)) {
        std::cerr << "error: could not write to standard output\n";
        return status == 0 ? 1 : status;
    }
    return status;
}

namespace {

int run_main(int argc, char **argv, langevin::Ranks &ranks) {
    CLI::App app{"langevin: millions to billions of independent Langevin walkers, compared with "
                 "the Boltzmann law"};
    app.set_version_flag("--version", std::string("langevin ") + LGV_VERSION);
    app.require_subcommand(1);

    auto *run = app.add_subcommand("run", "run a study (TOML) and compare with Boltzmann");
    std::string study_path, output, resume, backend, shard;
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
    run->add_option("--shard", shard,
                    "run only shard i of K (i/K): one contiguous block of the walkers; combine "
                    "the shard files with `langevin merge`");

    app.add_subcommand("info", "list backends, devices, potentials and integrators");

    auto *merge = app.add_subcommand(
        "merge", "combine shard files (run --shard i/K) into the single run's results");
    std::string merged_output;
    std::vector<std::string> shard_files;
    // (Missing ones are told below with the usage: CLI11 would say "shards is required".)
    merge->add_option("output", merged_output, "the merged HDF5 file to write");
    merge->add_option("shards", shard_files, "the shard files, in any order");
    merge->add_flag("--force", force, "overwrite an existing output file");
    merge->add_flag("--json", as_json, "print one JSON document on stdout");

    auto *plot = app.add_subcommand(
        "plot", "figures of results files (Python: h5py + matplotlib); `langevin plot a.h5 "
                "b.h5` also draws their annealing curves in one figure");
    std::vector<std::string> plot_files;
    std::string plot_out = ".", plot_format = "png";
    int plot_dpi = 100;
    plot->add_option("files", plot_files, "results files (run ... -o OUT.h5)");
    plot->add_option("--out", plot_out, "folder for the figures (default: .)");
    plot->add_option("--format", plot_format, "png | pdf | svg")
        ->check(CLI::IsMember({"png", "pdf", "svg"}));
    plot->add_option("--dpi", plot_dpi, "resolution of png figures")->check(CLI::Range(20, 1200));

    // CLI11 would call a misspelt command a missing one ("A subcommand is required").
    const auto commands = app.get_subcommands([](CLI::App *) { return true; });
    if (argc > 1 && argv[1][0] != '-' &&
        std::none_of(commands.begin(), commands.end(),
                     [&](CLI::App *c) { return c->check_name(argv[1]); })) {
        if (ranks.root())
            std::cerr << "error: unknown command '" << argv[1]
                      << "'; the commands are run, merge, plot and info (--help)\n";
        return 1;
    }
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        // Every rank has the same arguments: rank 0 alone prints the help, version or error.
        // --help and --version end with status 0; a bad argument is bad input like any other:
        // "error: ..." and status 1 (CLI11's own codes, 105 and up, are not ours to promise).
        std::ostringstream unused;
        if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success))
            return ranks.root() ? app.exit(e) : app.exit(e, unused, unused);
        if (ranks.root())
            std::cerr << "error: " << e.what() << "\nRun with --help for more information.\n";
        return 1;
    }
    const std::string missing =
        app.got_subcommand("merge") && shard_files.empty()
            ? "merge: give the merged file and the shard files: langevin merge OUT.h5 SHARD.h5 "
              "[SHARD.h5 ...]"
        : app.got_subcommand("plot") && plot_files.empty()
            ? "plot: give the results files: langevin plot OUT.h5 [MORE.h5 ...] [--out DIR]"
            : "";
    if (!missing.empty()) {
        if (ranks.root())
            std::cerr << "error: " << missing << "\n";
        return 1;
    }
    // Rank 0 alone plots or merges files (the other ranks would write the same files).
    if (!ranks.root() && (app.got_subcommand("plot") || app.got_subcommand("merge")))
        return 0;
    if (app.got_subcommand("plot")) {
        std::vector<std::string> args = {plot_python(), plot_script()};
        if (std::FILE *script = std::fopen(args[1].c_str(), "r"))
            std::fclose(script);
        else {
            std::cerr << "error: plot: cannot read the plotting script " << args[1] << " ("
                      << std::strerror(errno) << ")"
                      << (std::getenv("LANGEVIN_PLOT_SCRIPT") ? ", named by LANGEVIN_PLOT_SCRIPT"
                                                              : "")
                      << "\n";
            return 1;
        }
        args.insert(args.end(), plot_files.begin(), plot_files.end());
        for (const std::string &a : {std::string("--out"), plot_out, std::string("--format"),
                                     plot_format, std::string("--dpi"), std::to_string(plot_dpi)})
            args.push_back(a);
        std::vector<char *> cargs;
        for (std::string &a : args)
            cargs.push_back(a.data());
        cargs.push_back(nullptr);
        ::execvp(cargs[0], cargs.data());
        std::cerr << "error: plot: cannot run " << args[0] << " (" << std::strerror(errno)
                  << "): install Python 3 with h5py and matplotlib (apt-get install python3-h5py "
                     "python3-matplotlib), or name the interpreter in LANGEVIN_PYTHON\n";
        return 1;
    }
    bool set_up = false; // past the part that every rank runs alike (setup_failed)
    try {
        using namespace langevin;
        if (app.got_subcommand("info")) {
            if (ranks.root())
                print_info(std::cout);
            return 0;
        }
        if (app.got_subcommand("merge")) {
            check_output("merge output", merged_output, shard_files);
            LGV_REQUIRE(force || !exists(merged_output), merged_output,
                        " exists: choose another output or add --force to overwrite it");
            std::vector<ShardFile> shards;
            for (const std::string &path : shard_files) {
                LGV_REQUIRE(exists(path), "merge: ", path, ": no such file");
                shards.push_back(read_shard(path));
            }
            Study study;
            const RunResult result = merge_shards(shards, &study);
            study.output = merged_output;
            // The stored study names the merged file as its output, not the first shard.
            const Study renamed =
                parse_study(study.resolved_toml, shards.front().path,
                            {"output.file=" + nlohmann::json(merged_output).dump()});
            study.resolved_toml = renamed.resolved_toml;
            study.resolved_json = renamed.resolved_json;
            write_results(merged_output, study, result);
            if (as_json)
                std::cout << result_json(study, result) << "\n";
            else {
                print_result(std::cout, study, result);
                std::cout << "output     " << merged_output << "\n";
            }
            return 0;
        }
        Study study;
        RunState state;
        RunState *resume_state = nullptr;
        LGV_REQUIRE(run->count("--resume") == 0 || !resume.empty(),
                    "--resume is empty: give the output file of the interrupted run (OUT.h5)");
        if (!resume.empty()) {
            LGV_REQUIRE(study_path.empty() && overrides.empty(),
                        "--resume continues the stored study: give no study file or --set");
            LGV_REQUIRE(shard.empty(), "--resume continues the stored shard: give no --shard");
            LGV_REQUIRE(run->count("--output") == 0,
                        "--resume writes the output file the run was started with (", resume,
                        "): give no -o");
            const std::string partial =
                resume.size() > 8 && resume.substr(resume.size() - 8) == ".partial"
                    ? resume
                    : rank_checkpoint(resume, ranks);
            LGV_REQUIRE(exists(partial), "--resume ", resume, ": no checkpoint ", partial,
                        " (it is removed when a run finishes)");
            Checkpoint cp = read_checkpoint(partial);
            study = std::move(cp.study);
            study.output = resume.size() > 8 && resume.substr(resume.size() - 8) == ".partial"
                               ? resume.substr(0, resume.size() - 8)
                               : resume;
            LGV_REQUIRE(ranks.size() == 1 || study.shard.count == std::uint64_t(ranks.size()),
                        "--resume ", resume, ": the checkpoint is of rank ", study.shard.index,
                        " of ", study.shard.count, "; resume with mpirun -np ", study.shard.count);
            state = std::move(cp.state);
            resume_state = &state;
            check_output("--resume " + resume + ": the output", study.output, {});
            // An existing output (one the run was started over with --force, or one made since
            // the interruption) is not replaced without --force, as for a fresh run.
            LGV_REQUIRE(force || !exists(study.output), study.output,
                        " exists: the resumed run would overwrite it; move it, or add --force");
            if (!backend.empty())
                study.backend = backend;
        } else {
            LGV_REQUIRE(!study_path.empty(), "run: give a study file (or --resume OUT.h5)");
            if (!backend.empty())
                overrides.push_back("backend.kind=" + backend);
            // -o is [output] file, so the stored configuration names the file written (a JSON
            // string is a valid TOML basic string).
            if (run->count("--output") > 0) {
                LGV_REQUIRE(!output.empty(), "-o is empty: give a file name such as results.h5");
                overrides.push_back("output.file=" + nlohmann::json(output).dump());
            }
            study = load_study(study_path, overrides);
            if (!shard.empty()) {
                LGV_REQUIRE(ranks.size() == 1, "--shard ", shard, " and mpirun -np ", ranks.size(),
                            " both split the walkers: use one of them");
                study.shard = parse_shard(shard);
            } else if (ranks.size() > 1) {
                study.shard = Shard{std::uint64_t(ranks.rank()), std::uint64_t(ranks.size())};
            }
            if (!study.output.empty()) {
                const auto resolved = nlohmann::json::parse(study.resolved_json);
                std::string data_file;
                if (resolved.contains("data") && resolved["data"].contains("file"))
                    data_file = resolved["data"]["file"].get<std::string>();
                check_output("[output] file (-o)", study.output, {study_path, data_file});
                LGV_REQUIRE(force || !exists(study.output), study.output,
                            " exists: choose another output or add --force to overwrite it");
                LGV_REQUIRE(force || !exists(rank_checkpoint(study.output, ranks)),
                            rank_checkpoint(study.output, ranks),
                            " holds an interrupted run: continue it with --resume ", study.output,
                            ", or add --force to start over");
            }
        }

        check_host_memory(study);
        if (setup_failed(ranks, ""))
            return 1;
        set_up = true;
        if (study.checkpoint_every > 0 && study.output.empty() && ranks.root()) {
            std::cerr << "warning: [output] checkpoint_every = " << study.checkpoint_every
                      << " writes nothing without an output file (-o OUT.h5 or [output] file)\n";
        }
        if (!shard.empty() && study.output.empty())
            std::cerr << "warning: --shard " << shard
                      << " without an output file (-o SHARD.h5) leaves nothing to merge\n";

            // One GPU per rank on a node (ranks beyond the device count share them).
#if defined(LGV_HAVE_CUDA)
        if (ranks.size() > 1 && study.backend != "cpu") {
            const int devices = cuda_device_count(nullptr);
            if (devices > 0)
                study.options.device = ranks.local_rank() % devices;
        }
#endif
        // Before anything is removed: a backend that cannot start (--force over an interrupted
        // run with an unavailable backend) must leave the checkpoint to --resume.
        const std::unique_ptr<Backend> engine = make_backend(study.backend, study.options);
        const bool mpi = ranks.size() > 1;
        // Progress counts the walker-steps of this run: a shard's own walkers, or under MPI the
        // whole job's (every rank a shard).
        const WalkerRange own = shard_range(study.walkers, study.shard);
        const double job_total =
            double(mpi ? study.walkers : own.end - own.begin) * double(study.steps);
        RunHooks hooks;
        const bool tty = isatty(STDERR_FILENO);
        const auto started = std::chrono::steady_clock::now();
        double own_done = 0;
        SampleResult own_latest; // a copy: run_study's own is gone once it returns
        bool have_latest = false;
        // Rank 0 prints the whole job's progress; the other ranks report theirs to it.
        auto print_progress = [&](double done, double rate, const SampleResult *latest) {
            char line[256];
            const double eta = rate > 0 ? (job_total - done) / rate : 0;
            std::snprintf(
                line, sizeof line,
                "%5.1f%%  %.3g/%.3g walker-steps  T %.4g  %.3g walker-steps/s  "
                "ETA %s  KL %s%s",
                job_total > 0 ? 100 * done / job_total : 100.0, done, job_total,
                latest ? latest->temperature : study.schedule.at(0), rate,
                human_seconds(eta).c_str(),
                latest && latest->comparison.available
                    ? std::to_string(latest->comparison.kl).c_str()
                    : "n/a",
                mpi ? (" (" + std::to_string(ranks.size()) + " ranks; KL of rank 0)").c_str() : "");
            if (tty)
                std::cerr << "\r" << line << "   " << std::flush;
            else
                std::cerr << line << "\n";
        };
        auto job_progress = [&] {
            ranks.poll_progress();
            const double done = own_done + ranks.others_done();
            const double secs =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            print_progress(done, secs > 0 ? done / secs : 0.0, have_latest ? &own_latest : nullptr);
        };
        if (!ranks.root())
            hooks.progress = [&](double done, double, double, const SampleResult *) {
                ranks.report_progress(done);
            };
        else if (!quiet && !mpi)
            hooks.progress = [&](double done, double, double rate, const SampleResult *latest) {
                print_progress(done, rate, latest);
            };
        else if (!quiet)
            hooks.progress = [&](double done, double, double, const SampleResult *latest) {
                own_done = done;
                if (latest) {
                    own_latest = *latest;
                    have_latest = true;
                }
                job_progress();
            };
        const std::string partial =
            study.output.empty() ? std::string() : rank_checkpoint(study.output, ranks);
        const std::string who = mpi ? "rank " + std::to_string(ranks.rank()) + ": " : "";
        // A checkpoint that cannot be written (a full disk) does not end the run: the last good
        // one stays as it was, and the output may still be written at the end. The first
        // failure of a streak is reported; `checkpoint_error` is empty after a good one.
        std::string checkpoint_error;
        // --force over an interrupted run starts over: its checkpoint goes now, so that one this
        // run failed to replace is never offered for --resume.
        if (!resume_state && !partial.empty())
            remove_checkpoint(partial);
        if (!study.output.empty()) {
            hooks.checkpoint = [&](const RunState &s) {
                try {
                    write_checkpoint(partial, study, s);
                    checkpoint_error.clear();
                } catch (const std::exception &e) {
                    if (checkpoint_error.empty())
                        std::cerr << (tty && !quiet ? "\n" : "") << who
                                  << "warning: the checkpoint at step " << s.step << " of chunk "
                                  << s.chunk << " was not written to " << partial << ": "
                                  << e.what() << "; "
                                  << (exists(partial)
                                          ? "the previous one in " + partial + " is kept"
                                          : std::string("there is none yet"))
                                  << "; the run goes on (further failures are not reported "
                                     "until a checkpoint is written)\n";
                    checkpoint_error = e.what();
                }
            };
            // A rank that is done waits for the others: its checkpoint survives an interruption.
            hooks.checkpoint_when_done = mpi;
            // Every rank has a checkpoint from the start, so a job stopped before some rank's
            // first checkpoint still resumes (that rank starts its walkers afresh).
            if (mpi && !resume_state)
                write_checkpoint(partial, study, RunState{});
        }
        std::signal(SIGINT, on_signal);
        std::signal(SIGTERM, on_signal);
        hooks.interrupted = [] { return g_signal != 0; };

        // Checkpointed before it was thrown (a rank merging the job: when it was done).
        auto interrupted = [&](const Interrupted &e) {
            if (tty && !quiet)
                std::cerr << "\n";
            if (study.output.empty())
                std::cerr << who << "interrupted (" << e.what()
                          << "); no output file was set, so nothing was saved\n";
            else if (!checkpoint_error.empty() && !exists(partial))
                std::cerr << who << "interrupted (" << e.what()
                          << "); the checkpoint could not be written (" << checkpoint_error
                          << "), so nothing was saved\n";
            else
                std::cerr << who << "interrupted (" << e.what() << "); "
                          << (checkpoint_error.empty()
                                  ? "checkpoint written to " + partial
                                  : "the checkpoint could not be written (" + checkpoint_error +
                                        "); the previous one in " + partial + " is kept")
                          << "\ncontinue with: "
                          << (mpi ? "mpirun -np " + std::to_string(ranks.size()) + " " : "")
                          << "langevin run --resume " << study.output
                          << (exists(study.output) ? " --force\n(--force: the finished run "
                                                     "replaces the existing " +
                                                         study.output + ")"
                                                   : std::string())
                          << "\n";
            // The other ranks may be waiting for this one: end the job (every rank's latest
            // checkpoint is complete, being replaced atomically).
            if (mpi)
                ranks.abort(128 + g_signal.load());
            return 128 + g_signal.load();
        };
        hooks.summarise = !mpi;  // rank 0 summarises the merged accumulators once
        if (mpi && ranks.root()) // with the references of its progress summaries
            hooks.references = make_reference_cache(study);
        // What holds the next progress line back (a 2-D data loss's references take seconds).
        auto phase = [&](const std::string &what) {
            if (tty && !quiet && ranks.root())
                std::cerr << "\r" << std::string(110, ' ') << "\r" << what << " ..." << std::flush;
        };
        hooks.phase = phase;
        hooks.progress_summaries = ranks.root();
        RunResult result;
        try {
            result = run_study(study, *engine, hooks, resume_state);
        } catch (const Interrupted &e) {
            return interrupted(e);
        }
        if (mpi) {
            // Rank 0 merges every rank's exact totals: the single run's result.
            own_done = double(result.range.end - result.range.begin) * double(study.steps);
            const std::vector<RunResult> all = ranks.gather(result, [&] {
                if (!quiet)
                    job_progress();
            });
            if (!ranks.root()) {
                // Keep this rank's checkpoint until rank 0 has written the output, and for good
                // if it could not: the job resumes from every rank's checkpoint.
                if (ranks.any_failed("", nullptr))
                    return 1;
                if (!partial.empty())
                    remove_checkpoint(partial);
                return result.stopped ? 3 : 0;
            }
            std::vector<ShardFile> parts;
            for (std::size_t r = 0; r < all.size(); ++r) {
                Study part = study;
                part.shard = Shard{r, all.size()};
                parts.push_back({"rank " + std::to_string(r), part, all[r]});
            }
            Study merged_study;
            try {
                phase("computing the Boltzmann references");
                // A stopped job's checkpoints could not say it stopped: it finishes.
                const bool stopped = std::any_of(all.begin(), all.end(),
                                                 [](const RunResult &r) { return r.stopped; });
                result =
                    merge_shards(parts, &merged_study, true, stopped ? nullptr : hooks.interrupted,
                                 hooks.references.get());
            } catch (const Interrupted &e) {
                return interrupted(e);
            }
            merged_study.output = study.output;
            study = merged_study;
            // seconds: the job's wall time (merge_shards sums device-seconds).
            result.seconds =
                std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
            result.walker_steps_per_second = result.seconds > 0 ? job_total / result.seconds : 0;
        }
        if (tty && !quiet)
            std::cerr << "\r" << std::string(110, ' ') << "\r";
        // A failed write (a full disk) still prints the results, and keeps the checkpoint.
        std::string write_error;
        if (!study.output.empty()) {
            try {
                write_results(study.output, study, result);
                remove_checkpoint(partial);
            } catch (const std::exception &e) {
                write_error = e.what();
            }
        }
        if (mpi) // the other ranks may now remove their checkpoints, unless this write failed
            ranks.any_failed(write_error, nullptr);
        if (as_json) {
            std::cout << result_json(study, result) << "\n";
            const std::string advice = nonfinite_advice(study, result);
            if (!advice.empty())
                std::cerr << advice << "\n";
        } else {
            print_result(std::cout, study, result);
            if (!study.output.empty() && write_error.empty())
                std::cout << "output     " << study.output << "\n";
        }
        if (!write_error.empty()) {
            std::cerr << "error: writing " << study.output << ": " << write_error << "\n";
            if (exists(partial))
                std::cerr << "the last checkpoint is kept; once the output can be written, "
                             "continue with: "
                          << (mpi ? "mpirun -np " + std::to_string(ranks.size()) + " " : "")
                          << "langevin run --resume " << study.output << "\n";
            return 1;
        }
        if (result.stopped) {
            std::cerr << "error: " << result.stop_reason << "\n";
            return 3;
        }
        return 0;
    } catch (const std::exception &e) {
        if (!set_up && app.got_subcommand("run")) {
            setup_failed(ranks, e.what());
            return 1;
        }
        if (set_up && ranks.size() > 1) {
            const std::string line = langevin::detail::concat("error: (rank ", ranks.rank(), " of ",
                                                              ranks.size(), ") ", e.what(), "\n");
            if (::write(STDERR_FILENO, line.data(), line.size()) < 0)
                std::cerr << line;
            ranks.abort(1); // the other ranks would wait for this one forever
        }
        std::cerr << "error: " << e.what() << "\n";
        return 1;
    }
}

} // namespace
