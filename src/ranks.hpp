// The processes of one job: MPI ranks when built with MPI and started by an MPI launcher
// (mpirun, srun), else a single process. Host only; used by the `langevin` command.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "langevin/study.hpp"

namespace langevin {

class Ranks {
public:
    /// Initialises MPI only when a launcher started this process (its environment says so), so
    /// a plain `langevin run` never needs an MPI runtime. LANGEVIN_MPI=0 turns MPI off.
    Ranks(int *argc, char ***argv);
    ~Ranks();
    Ranks(const Ranks &) = delete;
    Ranks &operator=(const Ranks &) = delete;

    int rank() const { return rank_; }
    int size() const { return size_; }
    bool root() const { return rank_ == 0; }
    /// Rank among the processes on this node (picks the GPU: local_rank % device_count).
    int local_rank() const { return local_rank_; }

    /// Not rank 0: tells rank 0 how many walker-steps this rank has done (never blocks; a report
    /// is dropped while the previous one is still in flight).
    void report_progress(double done);
    /// Rank 0: receives the reports that have arrived (never blocks).
    void poll_progress();
    /// Rank 0: walker-steps done by the other ranks, as last reported.
    double others_done() const { return others_done_; }

    /// Every rank's result, in rank order, on rank 0 (empty elsewhere). While waiting, rank 0
    /// calls on_progress with the others' progress reports.
    std::vector<RunResult> gather(const RunResult &mine,
                                  const std::function<void()> &on_progress = {});

    /// Waits for every rank (no-op without MPI).
    void barrier();

    /// Ends a part that every rank runs alike (reading the study, the checks before a run), so
    /// that an error there needs no abort: each rank gives its error ("" if none). Whether it
    /// failed on any rank; *root_error gets rank 0's error. Every rank calls it once.
    bool any_failed(const std::string &error, std::string *root_error);

    /// Ends every rank of the job (after an error on one of them).
    [[noreturn]] void abort(int code);

private:
    void record_progress(int source, double done);
    int rank_ = 0, size_ = 1, local_rank_ = 0;
    bool mpi_ = false;
    double others_done_ = 0;
    std::vector<double> done_by_rank_;
    std::vector<double> progress_buffer_;
    void *progress_request_ = nullptr;
};

} // namespace langevin
