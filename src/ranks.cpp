// MPI ranks for `langevin run` (see ranks.hpp). Without LGV_HAVE_MPI: one process.
#include "ranks.hpp"

#include <cstdlib>
#include <cstring>
#include <string>

#if defined(LGV_HAVE_MPI)
#include <mpi.h>
#endif

namespace langevin {

#if defined(LGV_HAVE_MPI)
namespace {

constexpr int kProgressTag = 1, kResultTag = 2;

/// Whether an MPI launcher started this process (Open MPI, PMIx/Slurm, MPICH/Hydra).
bool launched_by_mpi() {
    if (const char *force = std::getenv("LANGEVIN_MPI"))
        return std::strcmp(force, "0") != 0;
    for (const char *var : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
        if (std::getenv(var))
            return true;
    return false;
}

/// A run's result as 64-bit words (what rank 0 needs to merge it; see merge_shards).
class Packer {
public:
    std::vector<std::uint64_t> words;
    void u64(std::uint64_t v) { words.push_back(v); }
    void f64(double v) {
        std::uint64_t w;
        std::memcpy(&w, &v, sizeof w);
        words.push_back(w);
    }
    void u64s(const std::vector<std::uint64_t> &v) {
        u64(v.size());
        words.insert(words.end(), v.begin(), v.end());
    }
    void f64s(const std::vector<double> &v) {
        u64(v.size());
        for (double x : v)
            f64(x);
    }
    void text(const std::string &s) {
        u64(s.size());
        for (std::size_t i = 0; i < s.size(); i += 8) {
            std::uint64_t w = 0;
            std::memcpy(&w, s.data() + i, std::min<std::size_t>(8, s.size() - i));
            words.push_back(w);
        }
    }
};

class Unpacker {
public:
    explicit Unpacker(const std::vector<std::uint64_t> &w) : w_(w) {}
    std::uint64_t u64() {
        LGV_REQUIRE(at_ < w_.size(), "internal: MPI message too short");
        return w_[at_++];
    }
    double f64() {
        const std::uint64_t w = u64();
        double v;
        std::memcpy(&v, &w, sizeof v);
        return v;
    }
    std::vector<std::uint64_t> u64s() {
        std::vector<std::uint64_t> v(u64());
        for (auto &x : v)
            x = u64();
        return v;
    }
    std::vector<double> f64s() {
        std::vector<double> v(u64());
        for (auto &x : v)
            x = f64();
        return v;
    }
    std::string text() {
        std::string s(u64(), '\0');
        for (std::size_t i = 0; i < s.size(); i += 8) {
            const std::uint64_t w = u64();
            std::memcpy(&s[i], &w, std::min<std::size_t>(8, s.size() - i));
        }
        return s;
    }

private:
    const std::vector<std::uint64_t> &w_;
    std::size_t at_ = 0;
};

std::vector<std::uint64_t> pack(const RunResult &r) {
    Packer p;
    p.text(r.backend);
    p.text(r.device);
    p.u64(r.walkers);
    p.u64(r.steps);
    p.u64(r.chunks);
    p.u64(r.chunk_walkers);
    p.u64(r.range.begin);
    p.u64(r.range.end);
    p.f64(r.seconds);
    p.u64(r.stopped);
    p.text(r.stop_reason);
    p.u64(r.accumulators.size());
    for (const Accumulator &a : r.accumulators) {
        p.u64s(a.marginal);
        p.u64s(a.joint);
        p.u64s(a.basins);
        p.u64s(a.passage);
        p.u64(a.sums.size());
        for (const ExactSum &e : a.sums)
            for (std::int64_t d : e.digits())
                p.u64(std::uint64_t(d));
        p.u64(a.outside);
        p.f64(a.best.energy);
        p.u64(a.best.walker);
        p.f64s(a.best_position);
    }
    p.u64s(r.trajectories.steps);
    p.f64s(r.trajectories.positions);
    p.u64(r.trajectories.walkers);
    p.u64(std::uint64_t(r.trajectories.dim));
    return std::move(p.words);
}

RunResult unpack(const std::vector<std::uint64_t> &words) {
    Unpacker u(words);
    RunResult r;
    r.backend = u.text();
    r.device = u.text();
    r.walkers = u.u64();
    r.steps = u.u64();
    r.chunks = u.u64();
    r.chunk_walkers = u.u64();
    r.range.begin = u.u64();
    r.range.end = u.u64();
    r.seconds = u.f64();
    r.stopped = u.u64() != 0;
    r.stop_reason = u.text();
    r.accumulators.resize(u.u64());
    for (Accumulator &a : r.accumulators) {
        a.marginal = u.u64s();
        a.joint = u.u64s();
        a.basins = u.u64s();
        a.passage = u.u64s();
        a.sums.resize(u.u64());
        for (ExactSum &e : a.sums) {
            std::int64_t d[ExactSum::kLimbs + 1];
            for (auto &x : d)
                x = std::int64_t(u.u64());
            e = ExactSum::from_digits(d);
        }
        a.outside = u.u64();
        a.best.energy = u.f64();
        a.best.walker = u.u64();
        a.best_position = u.f64s();
    }
    r.trajectories.steps = u.u64s();
    r.trajectories.positions = u.f64s();
    r.trajectories.walkers = u.u64();
    r.trajectories.dim = int(u.u64());
    return r;
}

} // namespace

Ranks::Ranks(int *argc, char ***argv) {
    if (!launched_by_mpi())
        return;
    MPI_Init(argc, argv);
    mpi_ = true;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
    done_by_rank_.assign(std::size_t(size_), 0.0);
    progress_buffer_.assign(1, 0.0);
    progress_request_ = new MPI_Request(MPI_REQUEST_NULL);
}

Ranks::~Ranks() {
    if (!mpi_)
        return;
    auto *request = static_cast<MPI_Request *>(progress_request_);
    if (*request != MPI_REQUEST_NULL)
        MPI_Wait(request, MPI_STATUS_IGNORE);
    delete request;
    MPI_Finalize();
}

void Ranks::report_progress(double done) {
    if (!mpi_ || root())
        return;
    auto *request = static_cast<MPI_Request *>(progress_request_);
    int finished = 1;
    if (*request != MPI_REQUEST_NULL)
        MPI_Test(request, &finished, MPI_STATUS_IGNORE);
    if (!finished)
        return;
    progress_buffer_[0] = done;
    MPI_Isend(progress_buffer_.data(), 1, MPI_DOUBLE, 0, kProgressTag, MPI_COMM_WORLD, request);
}

std::vector<RunResult> Ranks::gather(const RunResult &mine,
                                     const std::function<void()> &on_progress) {
    if (!mpi_)
        return {mine};
    if (!root()) {
        auto *request = static_cast<MPI_Request *>(progress_request_);
        if (*request != MPI_REQUEST_NULL)
            MPI_Wait(request, MPI_STATUS_IGNORE);
        const std::vector<std::uint64_t> words = pack(mine);
        MPI_Send(words.data(), int(words.size()), MPI_UINT64_T, 0, kResultTag, MPI_COMM_WORLD);
        return {};
    }
    std::vector<RunResult> all(static_cast<std::size_t>(size_));
    all[0] = mine;
    for (int pending = size_ - 1; pending > 0;) {
        MPI_Status status;
        MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, MPI_COMM_WORLD, &status);
        if (status.MPI_TAG == kProgressTag) {
            double done;
            MPI_Recv(&done, 1, MPI_DOUBLE, status.MPI_SOURCE, kProgressTag, MPI_COMM_WORLD,
                     MPI_STATUS_IGNORE);
            record_progress(status.MPI_SOURCE, done);
            if (on_progress)
                on_progress();
            continue;
        }
        int count = 0;
        MPI_Get_count(&status, MPI_UINT64_T, &count);
        std::vector<std::uint64_t> words(std::size_t(count > 0 ? count : 0));
        MPI_Recv(words.data(), count, MPI_UINT64_T, status.MPI_SOURCE, kResultTag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        all[std::size_t(status.MPI_SOURCE)] = unpack(words);
        --pending;
    }
    return all;
}

void Ranks::poll_progress() {
    if (!mpi_ || !root())
        return;
    for (;;) {
        int flag = 0;
        MPI_Status status;
        MPI_Iprobe(MPI_ANY_SOURCE, kProgressTag, MPI_COMM_WORLD, &flag, &status);
        if (!flag)
            return;
        double done;
        MPI_Recv(&done, 1, MPI_DOUBLE, status.MPI_SOURCE, kProgressTag, MPI_COMM_WORLD,
                 MPI_STATUS_IGNORE);
        record_progress(status.MPI_SOURCE, done);
    }
}

void Ranks::record_progress(int source, double done) {
    others_done_ += done - done_by_rank_[std::size_t(source)];
    done_by_rank_[std::size_t(source)] = done;
}

void Ranks::barrier() {
    if (mpi_)
        MPI_Barrier(MPI_COMM_WORLD);
}

bool Ranks::any_failed(const std::string &error, std::string *root_error) {
    int failed = error.empty() ? 0 : 1;
    if (mpi_)
        MPI_Allreduce(MPI_IN_PLACE, &failed, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (failed == 0)
        return false;
    unsigned long long size = root() ? error.size() : 0;
    std::string text = root() ? error : std::string();
    if (mpi_) {
        MPI_Bcast(&size, 1, MPI_UNSIGNED_LONG_LONG, 0, MPI_COMM_WORLD);
        text.resize(size);
        MPI_Bcast(text.data(), int(size), MPI_CHAR, 0, MPI_COMM_WORLD);
    }
    if (root_error)
        *root_error = text;
    return true;
}

void Ranks::abort(int code) {
    if (mpi_)
        MPI_Abort(MPI_COMM_WORLD, code);
    std::exit(code);
}

#else

Ranks::Ranks(int *, char ***) {}
Ranks::~Ranks() = default;
void Ranks::report_progress(double) {}
void Ranks::poll_progress() {}
void Ranks::record_progress(int, double) {}
std::vector<RunResult> Ranks::gather(const RunResult &mine, const std::function<void()> &) {
    return {mine};
}
void Ranks::barrier() {}
bool Ranks::any_failed(const std::string &error, std::string *root_error) {
    if (root_error)
        *root_error = error;
    return !error.empty();
}
void Ranks::abort(int code) {
    std::exit(code);
}

#endif

} // namespace langevin
