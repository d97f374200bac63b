// CPU backend: OpenMP over walkers, structure-of-arrays storage, the shared per-walker body.
#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <string>
#include <type_traits>
#include <unistd.h>
#include <utility>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include "cpu_normals.hpp"
#include "langevin/advance.hpp"
#include "langevin/backend.hpp"

namespace langevin {
namespace {

int thread_count(int requested) {
#ifdef _OPENMP
    return requested > 0 ? requested : omp_get_max_threads();
#else
    (void)requested;
    return 1;
#endif
}

/// The processor's name as /proc/cpuinfo gives it ("" where there is none): benchmark figures
/// and reports say which CPU made them.
std::string cpu_model() {
    std::ifstream info("/proc/cpuinfo");
    for (std::string line; std::getline(info, line);)
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos) {
            const std::size_t start = line.find_first_not_of(" \t", line.find(':') + 1);
            return start == std::string::npos ? "" : line.substr(start);
        }
    return "";
}

/// Steps per batch of a tile's normals.
constexpr std::uint64_t kTileSegment = 256;

constexpr const char *kIsaNames[] = {"portable", "avx2", "avx512"}; // cpu::Isa's order

/// LANGEVIN_CPU_ISA = avx512, avx2 or portable: the vector code the normals and steps run as (a
/// tuning knob: each gives the same bits); unset: the widest this processor runs.
cpu::Isa chosen_isa() {
    const cpu::Isa best = cpu::best_isa();
    const char *env = std::getenv("LANGEVIN_CPU_ISA");
    if (!env)
        return best;
    const std::string value = env;
    int k = 0;
    while (k < 3 && value != kIsaNames[k])
        ++k;
    LGV_REQUIRE(k < 3, "LANGEVIN_CPU_ISA = \"", value,
                "\": want avx512, avx2 or portable (unset: the widest this processor runs)");
    LGV_REQUIRE(k <= int(best), "LANGEVIN_CPU_ISA = \"", value, "\": this processor runs at most ",
                kIsaNames[int(best)]);
    return cpu::Isa(k);
}

/// Walker i of structure-of-arrays storage for `count` walkers (coordinate d at [d count + i]).
/// Always inlined, as everything step_tile calls per lane: an out-of-line copy is baseline code,
/// and calling it (SSE code) from the AVX step code cost Harmonic D = 2 a quarter of its speed.
template <class T, int D>
[[gnu::always_inline]] inline void fetch(const T *xs, const T *vs, std::uint64_t count,
                                         std::uint64_t i, Vec<T, D> &x, Vec<T, D> &v) {
    for (int d = 0; d < D; ++d) {
        x[d] = xs[std::size_t(d) * count + i];
        v[d] = vs[std::size_t(d) * count + i];
    }
}
template <class T, int D>
[[gnu::always_inline]] inline void store(T *xs, T *vs, std::uint64_t count, std::uint64_t i,
                                         const Vec<T, D> &x, const Vec<T, D> &v) {
    for (int d = 0; d < D; ++d) {
        xs[std::size_t(d) * count + i] = x[d];
        vs[std::size_t(d) * count + i] = v[d];
    }
}

/// What every tile of one advance() shares: the model, the integrator's constants and the
/// walkers' structure-of-arrays storage.
template <class T, class Pot, class Integ, class Coeffs> struct TileJob {
    const Model &model;
    const Pot &pot;
    const Integ &integ;
    const Coeffs *coeffs;
    bool varying; ///< one entry of coeffs per step
    T *xs, *vs;
    std::uint64_t *hits; ///< nullptr without a first-passage target
    std::uint64_t count, first_walker, first_step, n_steps;
    cpu::Isa isa;
};

/// One S per lane of a tile, stored word-major (word k of lane l at [k][l]) so the lane loop
/// loads and stores whole vectors. Lane-major arrays of small structs (Vec<T, 2>[kLanes]) are
/// strided accesses: GCC stepped Müller-Brown's last lanes in a scalar epilogue for their gaps,
/// and did not vectorise 10 coordinates at all.
template <class T, class S> struct LaneWords {
    static constexpr int words = std::is_empty_v<S> ? 0 : int(sizeof(S) / sizeof(T));
    static_assert(std::is_trivially_copyable_v<S> && (words == 0 || sizeof(S) == words * sizeof(T)),
                  "a lane's state is whole words of T");
    struct Words {
        T w[words > 0 ? words : 1];
    };
    T word[words > 0 ? words : 1][cpu::kLanes];

    [[gnu::always_inline]] S get(int l) const {
        if constexpr (words == 0) {
            return S{};
        } else {
            Words w;
            for (int k = 0; k < words; ++k)
                w.w[k] = word[k][l];
            return __builtin_bit_cast(S, w);
        }
    }
    [[gnu::always_inline]] void set(int l, const S &s) {
        if constexpr (words > 0) {
            const Words w = __builtin_bit_cast(Words, s);
            for (int k = 0; k < words; ++k)
                word[k][l] = w.w[k];
        }
    }
};

/// Lane l's normals of one step, from a segment's buffer (normal d of lane l at [d kLanes + l]).
template <class T, int D>
[[gnu::always_inline]] inline Vec<T, D> lane_normals(const T *step_normals, int l) {
    Vec<T, D> xi;
    for (int d = 0; d < D; ++d)
        xi[d] = step_normals[d * cpu::kLanes + l];
    return xi;
}

/// kLanes walkers from i0 (the first `lanes` of them stored) in lockstep for the job's steps.
/// Their normals are generated together in vector registers (cpu_normals.hpp) for up to
/// kTileSegment steps, then every step runs the shared integrator step across the lanes (a loop the
/// compiler vectorises). The slots follow advance_walker_from(): normal slot m drives step m -
/// lookahead, the first slots prime. `normals` holds the thread's buffer for a segment.
template <class T, int D, class Pot, class Integ, class Coeffs>
[[gnu::always_inline]] inline void step_tile(const TileJob<T, Pot, Integ, Coeffs> &job,
                                             std::uint64_t i0, int lanes, T *normals) {
    using Layout = NormalLayout<T, D>;
    constexpr int W = cpu::kLanes;
    constexpr int L = Layout::group_steps;
    constexpr std::uint64_t ahead = Integ::lookahead;
    using Carry = typename Integ::template Carry<T, D>;
    const Pot &pot = job.pot;
    const Integ &integ = job.integ;
    const Model &model = job.model;
    // Idle lanes of the last tile step a harmless copy of lane 0 and are not stored.
    LaneWords<T, Vec<T, D>> x_lanes, v_lanes;
    LaneWords<T, Carry> carry_lanes;
    std::uint64_t hit[W];
    for (int l = 0; l < W; ++l) {
        const std::uint64_t i = i0 + std::uint64_t(l < lanes ? l : 0);
        Vec<T, D> x, v;
        fetch(job.xs, job.vs, job.count, i, x, v);
        x_lanes.set(l, x);
        v_lanes.set(l, v);
        carry_lanes.set(l, integ.begin(pot, x));
        hit[l] = job.hits ? job.hits[i] : kNotHit;
    }
    const std::uint64_t m_begin = job.first_step, m_end = job.first_step + job.n_steps + ahead;
    for (std::uint64_t s = m_begin; s < m_end; s += kTileSegment) {
        const std::uint64_t se = std::min(m_end, s + kTileSegment);
        const std::uint64_t g0 = s / L, g1 = (se - 1) / L;
        cpu::philox_normals(model.seed, job.first_walker + i0, g0 * Layout::group_calls,
                            int(g1 - g0 + 1) * Layout::group_calls, normals, job.isa);
        for (std::uint64_t m = s; m < se; ++m) {
            const T *xi0 = normals + (m - g0 * L) * D * W;
            if (ahead > 0 && m < m_begin + ahead) {
                for (int l = 0; l < W; ++l) {
                    Carry carry = carry_lanes.get(l);
                    integ.prime(carry, lane_normals<T, D>(xi0, l));
                    carry_lanes.set(l, carry);
                }
                continue;
            }
            const std::uint64_t n = m - ahead;
            const Coeffs c = job.coeffs[job.varying ? n - job.first_step : 0];
            // Lanes are independent. ivdep, not omp simd: omp simd's per-lane copies of xi did
            // not survive step_tile's inlining into the wrappers below (the loop stopped
            // vectorising).
#pragma GCC ivdep
            for (int l = 0; l < W; ++l) {
                Vec<T, D> x = x_lanes.get(l), v = v_lanes.get(l);
                Carry carry = carry_lanes.get(l);
                integ.step(pot, c, x, v, lane_normals<T, D>(xi0, l), carry);
                x_lanes.set(l, x);
                v_lanes.set(l, v);
                carry_lanes.set(l, carry);
            }
            if (job.hits)
                for (int l = 0; l < W; ++l)
                    if (hit[l] == kNotHit && model.target.contains(x_lanes.get(l)))
                        hit[l] = n + 1;
        }
    }
    for (int l = 0; l < lanes; ++l) {
        store(job.xs, job.vs, job.count, i0 + l, x_lanes.get(l), v_lanes.get(l));
        if (job.hits)
            job.hits[i0 + l] = hit[l];
    }
}

/// step_tile as an ISA kernel (run_as): tiles of one or two coordinates step in 256-bit vectors
/// with AVX-512 (the double well's EM float32 ran at 9.1e8 walker-steps/s so, 8.5e8 in 512-bit
/// ones), more in 512-bit ones (Rastrigin float32: D = 3 and 4 +12 %, D = 8 +34 %; D = 1 -14 %).
template <class T, int D> struct StepTile {
    static constexpr bool narrow = D <= 2;
    template <class Job>
    [[gnu::always_inline]] static void run(const Job &job, std::uint64_t i0, int lanes,
                                           T *normals) {
        step_tile<T, D>(job, i0, lanes, normals);
    }
};

/// The energies of kLanes walkers from i0 of structure-of-arrays storage (lanes from `lanes` on
/// repeat walker i0): the potential's energy for each lane in one lane loop, which the compiler
/// vectorises as step_tile's, with the same operations per walker (the same bits).
template <class T, int D, class Pot>
[[gnu::always_inline]] inline void tile_energies(const Pot &pot, const T *xs, std::uint64_t count,
                                                 std::uint64_t i0, int lanes, double *energy) {
    LaneWords<T, Vec<T, D>> x_lanes;
    for (int l = 0; l < cpu::kLanes; ++l) {
        Vec<T, D> x;
        for (int d = 0; d < D; ++d)
            x[d] = xs[std::size_t(d) * count + i0 + std::uint64_t(l < lanes ? l : 0)];
        x_lanes.set(l, x);
    }
    T e[cpu::kLanes];
#pragma GCC ivdep
    for (int l = 0; l < cpu::kLanes; ++l)
        e[l] = pot.energy(x_lanes.get(l));
    for (int l = 0; l < cpu::kLanes; ++l)
        energy[l] = double(e[l]);
}

/// The starts of kLanes walkers from `first_walker`: init_walker's position draws (and, with
/// `v`, velocity draws) for the whole tile at once, mapped by the same start_coordinate and
/// start_velocity. Uniforms are cuRAND's bitwise; normals the batched Box-Muller's (within a
/// few ulp of cuRAND's host code, as the steps' normals). initialize() and observe() (x0 of the
/// mean-square displacement) both draw them here, so the two agree bitwise.
template <class T, int D>
[[gnu::always_inline]] inline void
tile_starts(const InitSpec &init, std::uint64_t seed, std::uint64_t first_walker, cpu::Isa isa,
            LaneWords<T, Vec<T, D>> &x, LaneWords<T, Vec<T, D>> *v = nullptr) {
    constexpr int calls = int(words_per_block<T, D>() / 4), W = cpu::kLanes;
    alignas(64) T r[calls * NormalsPerCall<T>::value * W]; // draw d of lane l at [d W + l]
    if (init.kind == InitSpec::Kind::point) {
        for (int d = 0; d < D; ++d)
            for (int l = 0; l < W; ++l)
                x.word[d][l] = T(init.point[d]);
    } else {
        const std::uint64_t key = stream_key(seed, Purpose::init_position);
        if (init.kind == InitSpec::Kind::uniform)
            cpu::philox_draws<T, cpu::Draw::uniform>(key, first_walker, 0, calls, r, isa);
        else
            cpu::philox_normals(key, first_walker, 0, calls, r, isa);
        for (int d = 0; d < D; ++d)
            for (int l = 0; l < W; ++l)
                x.word[d][l] = start_coordinate(init, d, r[d * W + l]);
    }
    if (v) {
        cpu::philox_normals(stream_key(seed, Purpose::init_velocity), first_walker, 0, calls, r,
                            isa);
        for (int d = 0; d < D; ++d)
            for (int l = 0; l < W; ++l)
                v->word[d][l] = start_velocity(init, r[d * W + l]);
    }
}

/// Counts the basins of walkers whose descent has not ended at its start (Pot::descends), kLanes
/// descents side by side: every lane takes a step (the potential's descent_step, in a lane loop
/// the compiler vectorises), and a lane whose descent has ended counts its basin and takes the
/// next start. Each walker gets the steps basin() takes, so the same basin; the lanes stay busy
/// however long each descent is (in lockstep, a tile would wait for its longest).
template <class Pot, int D>
[[gnu::always_inline]] inline void
count_descents(const Pot &pot, const std::vector<Vec<double, D>> &starts, std::uint64_t *basins) {
    constexpr int W = cpu::kLanes;
    if (starts.empty())
        return;
    LaneWords<double, Vec<double, D>> p;
    int steps[W];
    bool busy[W];
    std::size_t next = 0;
    int n_busy = 0;
    for (int l = 0; l < W; ++l) {
        busy[l] = next < starts.size();
        n_busy += busy[l] ? 1 : 0;
        p.set(l, starts[busy[l] ? next++ : 0]); // idle lanes step a harmless copy
        steps[l] = 0;
    }
    while (n_busy > 0) {
#pragma GCC ivdep
        for (int l = 0; l < W; ++l) {
            Vec<double, D> q = p.get(l);
            pot.descent_step(q);
            p.set(l, q);
        }
        for (int l = 0; l < W; ++l) {
            if (!busy[l])
                continue;
            const int k = pot.descent_end(p.get(l), ++steps[l]);
            if (k < 0)
                continue;
            ++basins[k];
            if (next < starts.size()) {
                p.set(l, starts[next++]);
                steps[l] = 0;
            } else {
                busy[l] = false;
                --n_busy;
            }
        }
    }
}

/// Copies of the marginal histograms per thread, taken by walkers in turn (summed at the end):
/// neighbouring walkers mostly fall in the same bin, and one copy's adds wait on each other.
constexpr std::uint64_t kHistogramCopies = 4;

/// One thread's share of an observation: histogram slots, walkers outside the grid, best walker.
struct ObserveCounts {
    std::vector<std::uint64_t> marginal, joint, basins, passage;
    std::uint64_t outside = 0;
    Best best;
};

/// What every moment block of one observe() shares.
template <class T, int D, class Pot> struct ObserveJob {
    const Pot &pot;
    const ObserveSpec &spec;
    std::uint64_t seed;
    const T *xs, *vs;
    const std::uint64_t *hits; ///< nullptr without a first-passage target
    std::uint64_t count, first_walker;
    std::size_t offset[D];     ///< each axis' first slot in the marginal histograms
    std::size_t marginal_size; ///< the slots of all axes (of one copy)
    double shift[D];           ///< the moments' shift (grid_centres)
    cpu::Isa isa;
};

/// Adds the walkers of moment block b (sums: its partial sums) to a thread's counts, their
/// energies kLanes at a time (tile_energies). Run as an ISA kernel (run_as), the per-walker code
/// too is compiled for the instruction set chosen.
template <class T, int D> struct ObserveBlock {
    // 256-bit vectors with AVX-512 at any D: Styblinski-Tang D = 10 and Rastrigin D = 8 were no
    // faster in 512-bit ones (within this machine's noise).
    static constexpr bool narrow = true;
    template <class Pot>
    [[gnu::always_inline]] static void run(const ObserveJob<T, D, Pot> &job, std::uint64_t b,
                                           ObserveCounts &counts, double *sums) {
        const Pot &pot = job.pot;
        const Grid &grid = job.spec.grid;
        const bool joint = !counts.joint.empty(), passage = !counts.passage.empty();
        const std::uint64_t end = std::min<std::uint64_t>(job.count, (b + 1) * kMomentBlock);
        // The block's sums in locals, which the compiler may keep in registers (the same adds in
        // the same order).
        double local_sums[moment_width(D)];
        std::copy(sums, sums + moment_width(D), local_sums);
        double tile_energy[cpu::kLanes];
        LaneWords<T, Vec<T, D>> tile_x0;
        std::vector<Vec<double, D>> descents; // starts of the basin descents not yet ended
        for (std::uint64_t i = b * kMomentBlock; i < end; ++i) {
            const int lane = int(i % cpu::kLanes); // blocks are whole tiles
            if (lane == 0) {
                tile_energies<T, D>(pot, job.xs, job.count, i,
                                    int(std::min<std::uint64_t>(cpu::kLanes, end - i)),
                                    tile_energy);
                tile_starts<T, D>(job.spec.init, job.seed, job.first_walker + i, job.isa, tile_x0);
            }
            Vec<T, D> x, v;
            fetch(job.xs, job.vs, job.count, i, x, v);
            const Vec<T, D> x0 = tile_x0.get(lane);
            const std::uint64_t hit = job.hits ? job.hits[i] : kNotHit;
            if (passage)
                ++counts.passage[passage_slot(hit, job.spec.passage)];
            const double energy = add_moments([&] { return tile_energy[lane]; }, x, v, x0, hit,
                                              job.shift, local_sums);
            if (!walker_is_finite(x, v)) {
                for (int d = 0; d < D; ++d)
                    ++counts.marginal[job.offset[d] + grid.axes[d].bins + 1];
                if (joint)
                    ++counts.joint.back();
                continue;
            }
            int slots[D];
            counts.outside += grid_slots(x, grid, slots) ? 0 : 1;
            std::uint64_t *marginal = &counts.marginal[(i % kHistogramCopies) * job.marginal_size];
            for (int d = 0; d < D; ++d)
                ++marginal[job.offset[d] + slots[d]];
            if (joint)
                ++counts.joint[joint_slot(slots[0], slots[D - 1], grid.axes[D - 1])];
            // basin() is -1 only for potentials without basins (none counted): the index is
            // tested, and the compiler sees it is not -1.
            if constexpr (kDescends<Pot>) {
                if (!counts.basins.empty()) {
                    Vec<double, D> start;
                    for (int d = 0; d < D; ++d)
                        start[d] = double(x[d]);
                    if (const int k = pot.descent_end(start, 0); k >= 0)
                        ++counts.basins[k];
                    else
                        descents.push_back(start);
                }
            } else if (const int k = counts.basins.empty() ? -1 : pot.basin(x); k >= 0) {
                ++counts.basins[k];
            }
            counts.best.consider(energy, job.first_walker + i);
        }
        if constexpr (kDescends<Pot>)
            count_descents(pot, descents, counts.basins.data());
        std::copy(local_sums, local_sums + moment_width(D), sums);
    }
};

// Kernel::run compiled for each instruction set the normals have: the same IEEE operations in
// wider vectors (no FMA contraction: -ffp-contract=off), so the same bits. Kernel::narrow: with
// AVX-512, in 256-bit vectors.
#if defined(__x86_64__) && defined(__GNUC__)
template <class Kernel, class... Args>
__attribute__((target("avx512f"))) void run_avx512(Args &&...args) {
    Kernel::run(std::forward<Args>(args)...);
}
template <class Kernel, class... Args>
__attribute__((target("avx512f,prefer-vector-width=256"))) void run_avx512_ymm(Args &&...args) {
    Kernel::run(std::forward<Args>(args)...);
}
template <class Kernel, class... Args>
__attribute__((target("avx2"))) void run_avx2(Args &&...args) {
    Kernel::run(std::forward<Args>(args)...);
}
#endif
template <class Kernel, class... Args> void run_as(cpu::Isa isa, Args &&...args) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa == cpu::Isa::avx512) {
        if constexpr (Kernel::narrow)
            return run_avx512_ymm<Kernel>(std::forward<Args>(args)...);
        else
            return run_avx512<Kernel>(std::forward<Args>(args)...);
    }
    if (isa == cpu::Isa::avx2)
        return run_avx2<Kernel>(std::forward<Args>(args)...);
#endif
    Kernel::run(std::forward<Args>(args)...);
}

class CpuBackend final : public Backend {
public:
    explicit CpuBackend(const BackendOptions &options) : options_(options), isa_(chosen_isa()) {}

    std::string name() const override { return "cpu"; }
    std::string device() const override {
        static const std::string model = cpu_model();
        return detail::concat("CPU", model.empty() ? "" : " (" + model + ")", ", ",
                              thread_count(options_.threads), " OpenMP thread(s), ",
                              kIsaNames[int(isa_)], " code");
    }
    std::uint64_t max_chunk_walkers(const Model &model) const override {
        const double bytes = double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGESIZE));
        const double per_walker =
            2.0 * model.dim() * (model.precision == Precision::float32 ? 4 : 8) + 8;
        return std::max<std::uint64_t>(kMomentBlock,
                                       static_cast<std::uint64_t>(0.25 * bytes / per_walker));
    }

    void initialize(const Model &model, const InitSpec &init, std::uint64_t first_walker,
                    std::uint64_t count) override {
        resize(model, first_walker, count);
        visit_potential(model, [&](const auto &, auto t, auto Dc) {
            using T = decltype(t);
            constexpr int D = decltype(Dc)::value;
            T *xs = data<T>(x_);
            T *vs = data<T>(v_);
            const std::int64_t tiles = std::int64_t((count_ + cpu::kLanes - 1) / cpu::kLanes);
#pragma omp parallel for schedule(static) num_threads(thread_count(options_.threads))
            for (std::int64_t tile = 0; tile < tiles; ++tile) {
                const std::uint64_t i0 = std::uint64_t(tile) * cpu::kLanes;
                LaneWords<T, Vec<T, D>> x, v;
                tile_starts<T, D>(init, model.seed, first_ + i0, isa_, x, &v);
                const int lanes = int(std::min<std::uint64_t>(cpu::kLanes, count_ - i0));
                for (int l = 0; l < lanes; ++l) {
                    store(xs, vs, count_, i0 + l, x.get(l), v.get(l));
                    if (!hit_.empty())
                        hit_[i0 + l] = model.target.contains(x.get(l)) ? 0 : kNotHit;
                }
            }
        });
    }

    void advance(const Model &model, std::uint64_t first_step, std::uint64_t n_steps,
                 const std::vector<double> &kT) override {
        if (n_steps == 0)
            return;
        visit_model(model, [&](const auto &pot, const auto &integ, auto t, auto Dc) {
            using T = decltype(t);
            constexpr int D = decltype(Dc)::value;
            using Coeffs = typename std::decay_t<decltype(integ)>::template Coeffs<T>;
            using Integ = std::decay_t<decltype(integ)>;
            // One entry per step when T or the step size (SGD's learning rate) varies.
            std::vector<Coeffs> coeffs;
            const std::size_t entries = steps_vary(integ) ? std::size_t(n_steps) : kT.size();
            for (std::size_t k = 0; k < entries; ++k)
                coeffs.push_back(
                    step_coefficients<T>(integ, kT[kT.size() == 1 ? 0 : k], first_step + k));
            // Mini-batch (SGD) steps are dominated by their B gradients: one walker at a time.
            if constexpr (!is_minibatch<Integ>)
                advance_batched<T, D>(model, pot, integ, coeffs, first_step, n_steps);
            else
                advance_each<T, D>(model, pot, integ, coeffs, first_step, n_steps);
        });
    }

    Observation observe(const Model &model, const ObserveSpec &spec) const override {
        Observation out;
        visit_potential(model, [&](const auto &pot, auto t, auto Dc) {
            using T = decltype(t);
            constexpr int D = decltype(Dc)::value;
            observe_typed<T, D>(pot, model.seed, spec, out);
        });
        return out;
    }

    void save(WalkerState &state) const override {
        if (precision_ == Precision::float32) {
            state.x.assign(x_.f.begin(), x_.f.end());
            state.v.assign(v_.f.begin(), v_.f.end());
        } else {
            state.x = x_.d;
            state.v = v_.d;
        }
        state.hit = hit_;
    }
    void load(const Model &model, std::uint64_t first_walker, const WalkerState &state) override {
        const int dim = model.dim();
        LGV_REQUIRE(state.x.size() % dim == 0 && state.v.size() == state.x.size(),
                    "load: state arrays do not match dimension ", dim);
        resize(model, first_walker, state.x.size() / dim);
        LGV_REQUIRE(state.hit.size() == hit_.size(), "load: hit steps do not match the walkers");
        if (precision_ == Precision::float32) {
            x_.f.assign(state.x.begin(), state.x.end());
            v_.f.assign(state.v.begin(), state.v.end());
        } else {
            x_.d = state.x;
            v_.d = state.v;
        }
        hit_ = state.hit;
    }

private:
    struct Storage {
        std::vector<float> f;
        std::vector<double> d;
    };
    template <class T> static T *data(Storage &s) {
        if constexpr (std::is_same_v<T, float>)
            return s.f.data();
        else
            return s.d.data();
    }
    template <class T> static const T *data(const Storage &s) {
        if constexpr (std::is_same_v<T, float>)
            return s.f.data();
        else
            return s.d.data();
    }
    /// One walker at a time with cuRAND's host code (mini-batch SGD: its indices and noise).
    template <class T, int D, class Pot, class Integ, class Coeffs>
    void advance_each(const Model &model, const Pot &pot, const Integ &integ,
                      const std::vector<Coeffs> &coeffs, std::uint64_t first_step,
                      std::uint64_t n_steps) {
        const bool varying = coeffs.size() > 1;
        T *xs = data<T>(x_);
        T *vs = data<T>(v_);
        std::uint64_t *hits = hit_.empty() ? nullptr : hit_.data();
        const std::int64_t n = static_cast<std::int64_t>(count_);
#pragma omp parallel for schedule(static) num_threads(thread_count(options_.threads))
        for (std::int64_t i = 0; i < n; ++i) {
            Vec<T, D> x, v;
            fetch(xs, vs, count_, std::uint64_t(i), x, v);
            std::uint64_t hit = hits ? hits[i] : kNotHit;
            advance_walker(integ, pot, coeffs.data(), varying, model.target, x, v, hit, model.seed,
                           first_ + std::uint64_t(i), first_step, n_steps);
            store(xs, vs, count_, std::uint64_t(i), x, v);
            if (hits)
                hits[i] = hit;
        }
    }

    /// Tiles of kLanes walkers in lockstep (step_tile), each with the code of the instruction
    /// set chosen (LANGEVIN_CPU_ISA).
    template <class T, int D, class Pot, class Integ, class Coeffs>
    void advance_batched(const Model &model, const Pot &pot, const Integ &integ,
                         const std::vector<Coeffs> &coeffs, std::uint64_t first_step,
                         std::uint64_t n_steps) {
        using Layout = NormalLayout<T, D>;
        constexpr int W = cpu::kLanes;
        constexpr int kMaxGroups = int((kTileSegment + Integ::lookahead) / Layout::group_steps + 2);
        const TileJob<T, Pot, Integ, Coeffs> job{model,
                                                 pot,
                                                 integ,
                                                 coeffs.data(),
                                                 coeffs.size() > 1,
                                                 data<T>(x_),
                                                 data<T>(v_),
                                                 hit_.empty() ? nullptr : hit_.data(),
                                                 count_,
                                                 first_,
                                                 first_step,
                                                 n_steps,
                                                 isa_};
        const std::int64_t tiles = std::int64_t((count_ + W - 1) / W);
#pragma omp parallel num_threads(thread_count(options_.threads))
        {
            std::vector<T> normals(std::size_t(kMaxGroups) * Layout::group_normals * W);
#pragma omp for schedule(static)
            for (std::int64_t tile = 0; tile < tiles; ++tile) {
                const std::uint64_t i0 = std::uint64_t(tile) * W;
                run_as<StepTile<T, D>>(
                    job.isa, job, i0, int(std::min<std::uint64_t>(W, count_ - i0)), normals.data());
            }
        }
    }

    void resize(const Model &model, std::uint64_t first_walker, std::uint64_t count) {
        precision_ = model.precision;
        dim_ = model.dim();
        first_ = first_walker;
        count_ = count;
        const std::size_t size = std::size_t(count) * dim_;
        x_ = Storage{};
        v_ = Storage{};
        if (precision_ == Precision::float32) {
            x_.f.resize(size);
            v_.f.resize(size);
        } else {
            x_.d.resize(size);
            v_.d.resize(size);
        }
        hit_.assign(model.target.active() ? count : 0, kNotHit);
    }

    template <class T, int D, class Pot>
    void observe_typed(const Pot &pot, std::uint64_t seed, const ObserveSpec &spec,
                       Observation &out) const {
        const Grid &grid = spec.grid;
        ObserveJob<T, D, Pot> job{
            pot,    spec,   seed, data<T>(x_), data<T>(v_), hit_.empty() ? nullptr : hit_.data(),
            count_, first_, {},   0,           {},          isa_};
        for (int d = 0; d < D; ++d) {
            job.offset[d] = job.marginal_size;
            job.marginal_size += grid.axes[d].bins + 2;
        }
        const std::size_t marginal_size = job.marginal_size;
        grid_centres(grid, job.shift);
        const std::size_t joint_size =
            D == 2 && grid.joint ? std::size_t(grid.axes[0].bins) * grid.axes[D - 1].bins + 2 : 0;
        const std::size_t passage_size = spec.passage.bins > 0 ? spec.passage.bins + 2 : 0;
        const int n_basins = pot.basin_count();
        const int width = moment_width(D);
        // Blocks are aligned to global walker ids: a chunk starts on a block boundary.
        const std::uint64_t n_blocks = (count_ + kMomentBlock - 1) / kMomentBlock;
        out.marginal.assign(marginal_size, 0);
        out.joint.assign(joint_size, 0);
        out.basins.assign(n_basins, 0);
        out.passage.assign(passage_size, 0);
        std::vector<double> block_sums(n_blocks * width, 0.0);
        std::uint64_t outside = 0;
        Best best;
#pragma omp parallel num_threads(thread_count(options_.threads))
        {
            ObserveCounts counts;
            counts.marginal.assign(kHistogramCopies * marginal_size, 0);
            counts.joint.assign(joint_size, 0);
            counts.basins.assign(n_basins, 0);
            counts.passage.assign(passage_size, 0);
#pragma omp for schedule(static)
            for (std::int64_t b = 0; b < std::int64_t(n_blocks); ++b)
                run_as<ObserveBlock<T, D>>(isa_, job, std::uint64_t(b), counts,
                                           &block_sums[std::size_t(b) * width]);
#pragma omp critical
            {
                for (std::size_t k = 0; k < counts.marginal.size(); ++k)
                    out.marginal[k % marginal_size] += counts.marginal[k];
                for (std::size_t k = 0; k < joint_size; ++k)
                    out.joint[k] += counts.joint[k];
                for (int k = 0; k < n_basins; ++k)
                    out.basins[k] += counts.basins[k];
                for (std::size_t k = 0; k < passage_size; ++k)
                    out.passage[k] += counts.passage[k];
                outside += counts.outside;
                best.consider(counts.best.energy, counts.best.walker);
            }
        }
        out.moment_sums.assign(width, ExactSum{});
        for (std::uint64_t b = 0; b < n_blocks; ++b)
            for (int j = 0; j < width; ++j)
                out.moment_sums[j].add(block_sums[b * width + j]);
        out.outside_box = outside;
        out.best = best;
        if (best.walker != ~std::uint64_t(0)) {
            Vec<T, D> x, v;
            fetch(job.xs, job.vs, count_, best.walker - first_, x, v);
            for (int d = 0; d < D; ++d)
                out.best_position.push_back(double(x[d]));
        }
    }

    BackendOptions options_;
    cpu::Isa isa_;
    Precision precision_ = Precision::float32;
    int dim_ = 1;
    std::uint64_t first_ = 0, count_ = 0;
    Storage x_, v_;
    std::vector<std::uint64_t> hit_;
};

} // namespace

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions &options) {
    return std::make_unique<CpuBackend>(options);
}

} // namespace langevin
