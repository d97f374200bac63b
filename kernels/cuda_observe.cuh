// Observables of a chunk on the device in two launches and one copy back:
//  1. observe_blocks: one CUDA block per moment block (kMomentBlock walkers, a fixed shape
//     whatever the stepping kernel's block size) reads every walker once and counts its
//     histogram slots in shared memory (then adds them to the chunk's counts), sums its moments
//     in a fixed order (shared memory, then cub::WarpReduce) and keeps its best walker.
//  2. exact_totals: adds the block sums exactly (integer digits: any order gives the same
//     limbs) and reduces the best walkers; a few kilobytes return to the host.
#pragma once

#include <type_traits>
#include <vector>

#include <cub/block/block_reduce.cuh>
#include <cub/warp/warp_reduce.cuh>

#include "cuda_launch.cuh"
#include "for_each_walker.cuh"
#include "langevin/exact_sum.hpp"

namespace langevin::cuda {

/// Where each count lives in the chunk's count array (u64), in Observation's order.
struct CountLayout {
    int marginal[kMaxDim]; ///< offset of coordinate d's bins_d + 2 slots
    int joint = -1;        ///< bins0 * bins1 + 2 slots, or -1
    int basins = -1;       ///< basin_count + 1 slots (the last: non-finite), or -1
    int passage = -1;      ///< passage bins + 2 slots, or -1
    int outside = -1;      ///< one slot (D > 1); D = 1: the marginal's slot 0 counts the same
    int size = 0;
    bool in_shared = true; ///< blocks count in shared memory first (small layouts)
};

/// Largest count layout kept in shared memory (32-bit counters per block; 32 KiB leaves room
/// for the static shared memory, 12 KiB for the reductions, under the 48 KiB default).
constexpr int kSharedCountSlots = 8 * 1024;

constexpr int kMomentWarps = kernels::kMomentThreads / 32;
/// Moments a block reduces together (8 KiB of shared memory; one warp each, one for the best).
constexpr int kSumRound = 4;

/// The better of two walkers (Best::consider): a lexicographic minimum, so any order agrees.
struct LowerBest {
    __device__ Best operator()(Best a, const Best &b) const {
        a.consider(b.energy, b.walker);
        return a;
    }
};

template <class T, int D, class Pot>
CountLayout count_layout(const Grid &grid, const Pot &pot, const Axis &passage) {
    CountLayout c;
    for (int d = 0; d < D; ++d) {
        c.marginal[d] = c.size;
        c.size += grid.axes[d].bins + 2;
    }
    if (D == 2 && grid.joint) {
        c.joint = c.size;
        c.size += grid.axes[0].bins * grid.axes[D - 1].bins + 2;
    }
    if (pot.basin_count() > 0) {
        c.basins = c.size;
        c.size += pot.basin_count() + 1;
    }
    if (passage.bins > 0) {
        c.passage = c.size;
        c.size += passage.bins + 2;
    }
    if (D > 1)
        c.outside = c.size++;
    c.in_shared = c.size <= kSharedCountSlots;
    return c;
}

/// Asks L2 for the 128-byte lines holding `bytes` from p on, one line per thread at a time,
/// without waiting. (Allocations are 256-byte aligned: the first line starts inside p's.)
__device__ inline void prefetch_to_l2(const void *p, std::uint64_t bytes) {
    const std::uintptr_t start = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t end = start + bytes;
    for (std::uintptr_t line = (start & ~std::uintptr_t(127)) + std::uintptr_t(threadIdx.x) * 128;
         line < end; line += std::uintptr_t(blockDim.x) * 128)
        asm volatile("prefetch.global.L2 [%0];" ::"l"(line));
}

/// An empty asm: the optimiser no longer knows where v came from.
__device__ __forceinline__ void opaque(float &v) {
    asm("" : "+f"(v));
}
__device__ __forceinline__ void opaque(double &v) {
    asm("" : "+d"(v));
}
template <class T> __device__ __forceinline__ void opaque(const T *&p) {
    asm("" : "+l"(p));
}

/// Registers of basin tallies: the potential's basin count where it is a constant (1 to 4), else
/// 4 (basins counted at run time: up to 4 are tallied, more are counted walker by walker).
/// `fixed`: the basin count where it is a constant, else -1.
template <class Pot, class = void> struct TallyBasins {
    static constexpr int value = 4, fixed = -1;
};
template <class Pot> struct TallyBasins<Pot, std::enable_if_t<(Pot::basin_count() >= 0)>> {
    static constexpr int value =
        Pot::basin_count() < 1 ? 1 : (Pot::basin_count() > 4 ? 4 : Pot::basin_count());
    static constexpr int fixed = Pot::basin_count();
};

/// Blocks per SM the observation kernel is compiled for: for cheap 1-D energies 4 in float32 (at
/// most 64 registers, more loads in flight), 3 in float64; the others would spill.
template <class Pot, class T, int D>
constexpr int kObserveMinBlocks = D == 1 && Pot::separable ? (sizeof(T) == 4 ? 4 : 3) : 1;

/// CUDA block b takes moment blocks b, b + gridDim.x, ...; in each, thread t takes walkers t,
/// t + 256, ... and the block sums them in a fixed order, so the sums do not depend on the grid.
/// A grid of one block per moment block (observe()) fills the card; a smaller one
/// (advance_and_observe) leaves most of it to the stepping that runs meanwhile.
/// Plain: overdamped walkers without a target (vs and hits null, no passage histogram), known
/// at compile time so that the velocity and first-passage code and its registers drop out.
template <class Pot, class T, int D, bool Plain>
__global__ void __launch_bounds__(kernels::kMomentThreads, kObserveMinBlocks<Pot, T, D>)
    observe_blocks(Pot pot, Grid grid, Axis passage, CountLayout layout, InitSpec init,
                   std::uint64_t seed, std::uint64_t first_walker, const T *xs, const T *vs,
                   const std::uint64_t *hits, std::uint64_t n, double *block_sums, Best *bests,
                   unsigned long long *counts) {
    if constexpr (Plain) {
        vs = nullptr;
        hits = nullptr;
    }
    extern __shared__ unsigned int shared_counts[];
    if (layout.in_shared) {
        for (int k = threadIdx.x; k < layout.size; k += blockDim.x)
            shared_counts[k] = 0;
        __syncthreads();
    }
    // Every lane of a warp calls count() together (the walker loop below keeps its warps
    // converged), with `valid` false where it has nothing to count. A warp whose counting lanes
    // share one slot (a cold ensemble in one bin, nobody at the target) adds once: atomics on one
    // address serialise. Otherwise each lane adds its own: a few instructions where grouping the
    // lanes by slot (__match_any_sync) took twenty, and a crowded bin's serialised atomics cost
    // shared-memory passes, not the issue slots that the stepping beside the observation needs.
    constexpr unsigned kWarp = 0xffffffffu;
    const unsigned lane = threadIdx.x & 31u;
    auto add = [&](int slot, unsigned amount) {
        if (layout.in_shared)
            atomicAdd(&shared_counts[slot], amount);
        else
            atomicAdd(&counts[slot], static_cast<unsigned long long>(amount));
    };
    auto count = [&](bool valid, int slot) {
        // No lane valid: leader -1 (no lane), every lane passes the test below, nobody adds.
        const unsigned lanes = __ballot_sync(kWarp, valid);
        const int leader = __ffs(lanes) - 1;
        const int first = __shfl_sync(kWarp, slot, leader);
        if (__all_sync(kWarp, !valid || slot == first)) {
            if (lane == unsigned(leader))
                add(slot, unsigned(__popc(lanes)));
        } else if (valid) {
            add(slot, 1u);
        }
    };
    // Up to kTallyBasins basins are tallied in registers (a compare and an add per walker, the
    // counts added once per thread at the end) rather than counted walker by walker.
    // Basins are counted when the potential has some (count_layout): a constant basin count
    // decides at compile time.
    constexpr int kTallyBasins = TallyBasins<Pot>::value, kFixedBasins = TallyBasins<Pot>::fixed;
    constexpr bool kCheapBasin = kFixedBasins >= 0 && !kDescends<Pot>;
    const bool tally_basins = kFixedBasins >= 0
                                  ? kFixedBasins > 0 && kFixedBasins <= kTallyBasins
                                  : layout.basins >= 0 && pot.basin_count() <= kTallyBasins;
    unsigned basin_tally[kTallyBasins] = {};
    // init = point: every walker starts at the same x0 (converted once, not per walker). In 1-D
    // it is kept as a double (exact), the type of the displacement: no conversion per walker;
    // with more coordinates in T (a double each held across the loop spilled at D = 10).
    const bool same_start = init.kind == InitSpec::Kind::point;
    using Start = Vec<std::conditional_t<D == 1, double, T>, D>;
    Start start;
    {
        Vec<T, D> x0;
        init_position(init, seed, first_walker, x0);
        // Opaque to the optimiser, which would otherwise merge this start and a walker's own
        // before their rounding to T, then round and widen the merged value for every walker.
        LGV_UNROLL
        for (int d = 0; d < D; ++d) {
            start[d] = x0[d];
            opaque(start[d]);
        }
    }
    constexpr int W = moment_width(D);
    static_assert(kSumRound < kMomentWarps && kernels::kMomentThreads % 32 == 0,
                  "the block's reduction gives a round's moments a warp each, and one to the best");
    // Sums that are +0 in every thread need no reduction: |v|^2 of overdamped walkers (v = 0)
    // and the first-passage sums without a target.
    auto summed = [&](int j) {
        return (j != 2 || vs != nullptr) && (j < moment::hits(D) || hits != nullptr);
    };
    double shift[D];
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        shift[d] = 0.5 * (grid.axes[d].lo + grid.axes[d].hi);
    const unsigned warp = threadIdx.x / 32u;
    const std::uint64_t n_blocks = (n + kMomentBlock - 1) / kMomentBlock;
    for (std::uint64_t block = blockIdx.x; block < n_blocks; block += gridDim.x) {
        const std::uint64_t base = block * kMomentBlock;
        {
            // The walker loop below has one load in flight per thread; requesting the whole
            // block up front lets it wait on L2 instead of device memory (it was latency bound).
            const std::uint64_t walkers = (n - base < kMomentBlock ? n - base : kMomentBlock);
            for (int d = 0; d < D; ++d) {
                prefetch_to_l2(xs + d * n + base, walkers * sizeof(T));
                if (vs)
                    prefetch_to_l2(vs + d * n + base, walkers * sizeof(T));
            }
            if (hits)
                prefetch_to_l2(hits + base, walkers * sizeof(std::uint64_t));
        }
        double sums[W];
        LGV_UNROLL
        for (int j = 0; j < W; ++j)
            sums[j] = 0.0;
        // The thread's best walker as Best::consider keeps it, with its index k in the block: the
        // thread's walkers come in increasing order, so a tie replaces only the initial "none".
        constexpr unsigned kNone = ~0u;
        double best_energy_here = Best{}.energy;
        unsigned best_k = kNone;
        const unsigned walkers = unsigned(n - base < kMomentBlock ? n - base : kMomentBlock);
        // Whole warps iterate (idle lanes past the end read walker `base` and count nothing).
        const unsigned warp_walkers = (walkers + 31u) & ~31u;
        // Plain: the block's walkers read at 32-bit offsets (the optimiser, left alone, adds base
        // to every offset in 64 bits); the general kernel has no registers to spare for it.
        const T *block_xs = xs + base;
        if constexpr (Plain)
            opaque(block_xs);
        for (unsigned k = threadIdx.x; k < warp_walkers; k += kernels::kMomentThreads) {
            const bool here = k < walkers;
            const unsigned offset = here ? k : 0u; // walker base + offset
            Vec<T, D> x, v;
            if constexpr (Plain) {
                LGV_UNROLL
                for (int d = 0; d < D; ++d) { // (__ldg: the pointer no longer says it is global)
                    x[d] = __ldg(block_xs + d * n + offset);
                    v[d] = T(0);
                }
            } else {
                kernels::fetch(xs, vs, n, base + offset, x, v);
            }
            const std::uint64_t hit = hits ? hits[base + offset] : kNotHit;
            const bool finite = walker_is_finite(x, v), counted = here && finite,
                       lost = here && !finite;
            // Every lane takes its slots (a non-finite x has slot 0; only counted lanes' slots
            // are counted). In 1-D before the moments, which then reuse its conversion to
            // double; with more coordinates after them (fewer registers live across the energy).
            int slots[D];
            bool inside = false;
            if constexpr (D == 1)
                inside = grid_slots(x, grid, slots);
            double energy = double(NAN); // NaN: never the best (lanes that count nothing)
            // The first-passage sums take non-finite walkers too; without them (plain) only the
            // counted walkers have sums.
            if (Plain ? counted : here) {
                Start x0 = start;
                if (!same_start) {
                    Vec<T, D> own;
                    init_position(init, seed, first_walker + base + offset, own);
                    LGV_UNROLL
                    for (int d = 0; d < D; ++d)
                        x0[d] = own[d];
                }
                energy = accumulate_moments(pot, x, v, x0, hit, shift, sums, vs != nullptr);
            }
            if constexpr (D > 1)
                inside = grid_slots(x, grid, slots);
            if (!Plain && layout.passage >= 0)
                count(here, layout.passage + passage_slot(hit, passage));
            if (__any_sync(kWarp, lost)) { // the non-finite slots
                LGV_UNROLL
                for (int d = 0; d < D; ++d)
                    count(lost, layout.marginal[d] + grid.axes[d].bins + 1);
                if (D == 2 && layout.joint >= 0)
                    count(lost, layout.joint + grid.axes[0].bins * grid.axes[D - 1].bins + 1);
                if (layout.basins >= 0)
                    count(lost, layout.basins + pot.basin_count());
            }
            LGV_UNROLL
            for (int d = 0; d < D; ++d)
                count(counted, layout.marginal[d] + slots[d]);
            if (D == 2 && layout.joint >= 0) // (count_layout: a joint histogram is 2-D)
                count(counted, layout.joint + joint_slot(slots[0], slots[D - 1], grid.axes[D - 1]));
            if (tally_basins) {
                // A few comparisons for every lane; a descent (Muller-Brown) for counted ones.
                const int b = kCheapBasin || counted ? pot.basin(x) : -1;
                LGV_UNROLL
                for (int j = 0; j < kTallyBasins; ++j)
                    basin_tally[j] += unsigned(counted && b == j);
            } else if (layout.basins >= 0) {
                const int b = counted ? pot.basin(x) : -1; // -1: in none (outside sine_fit's scan)
                count(b >= 0, layout.basins + (b >= 0 ? b : 0));
            }
            if constexpr (D > 1) // for D = 1 the marginal's slot 0 counts the same walkers
                count(counted && !inside, layout.outside);
            if (energy < best_energy_here || (energy == best_energy_here && best_k == kNone)) {
                best_energy_here = energy;
                best_k = k;
            }
        }

        // The block's sums, kSumRound moments at a time: every thread stores its partial sums,
        // then warp r adds moment j0 + r's, lane l those of threads l, l + 32, ..., l + 224 in
        // turn and cub::WarpReduce the lanes' (a fixed order: the sums do not depend on the
        // grid). A cub::BlockReduce per moment (a warp reduction of it in every warp, two
        // barriers) took several times the instructions. Meanwhile warp kSumRound finds the
        // block's best walker the same way; round 0 always sums (the finite walkers' count).
        __shared__ double partial[kSumRound][kernels::kMomentThreads];
        __shared__ double best_energy[kernels::kMomentThreads];
        __shared__ std::uint64_t best_walker[kernels::kMomentThreads];
        __shared__ typename cub::WarpReduce<double>::TempStorage sum_temp[kSumRound];
        __shared__ typename cub::WarpReduce<Best>::TempStorage best_temp;
        static_assert(sizeof(partial) + sizeof(best_energy) + sizeof(best_walker) +
                              sizeof(sum_temp) + sizeof(best_temp) +
                              sizeof(unsigned int) * kSharedCountSlots <=
                          48 * 1024,
                      "the reductions and the largest shared count layout must fit the 48 KiB a "
                      "block gets without opting in");
        best_energy[threadIdx.x] = best_energy_here;
        best_walker[threadIdx.x] = best_k == kNone ? Best{}.walker : first_walker + base + best_k;
        LGV_UNROLL
        for (int j0 = 0; j0 < W; j0 += kSumRound) {
            bool any = false; // the same in every thread (summed() is): the barriers are safe
            LGV_UNROLL
            for (int r = 0; r < kSumRound && j0 + r < W; ++r)
                if (summed(j0 + r)) {
                    partial[r][threadIdx.x] = sums[j0 + r];
                    any = true;
                }
            if (any)
                __syncthreads();
            const int j = j0 + int(warp);
            if (warp < unsigned(kSumRound) && j < W) {
                double total = 0.0;
                if (summed(j)) {
                    double lanes = partial[warp][lane];
                    for (int w = 1; w < kMomentWarps; ++w)
                        lanes += partial[warp][w * 32 + lane];
                    total = cub::WarpReduce<double>(sum_temp[warp]).Sum(lanes);
                }
                if (lane == 0)
                    block_sums[block * W + j] = total;
            } else if (j0 == 0 && warp == unsigned(kSumRound)) {
                Best b;
                for (int w = 0; w < kMomentWarps; ++w)
                    b.consider(best_energy[w * 32 + lane], best_walker[w * 32 + lane]);
                b = cub::WarpReduce<Best>(best_temp).Reduce(b, LowerBest{});
                if (lane == 0)
                    bests[block] = b;
            }
            if (any)
                __syncthreads(); // partial (and the bests) are rewritten next
        }
    }
    if (tally_basins)
        for (int j = 0; j < kTallyBasins && j < pot.basin_count(); ++j)
            if (basin_tally[j])
                add(layout.basins + j, basin_tally[j]);
    if (layout.in_shared) {
        __syncthreads();
        for (int k = threadIdx.x; k < layout.size; k += blockDim.x)
            if (shared_counts[k])
                atomicAdd(&counts[k], static_cast<unsigned long long>(shared_counts[k]));
    }
}

/// What returns to the host: the counts, then per moment j its limbs and its +inf/-inf/NaN
/// counts, then the best walker and its position.
struct TotalsLayout {
    int counts = 0, limbs = 0, specials = 0, best = 0, position = 0, size = 0; // in u64 words
    TotalsLayout(int n_counts, int width, int dim) {
        counts = 0;
        limbs = n_counts;
        specials = limbs + width * kExactLimbs;
        best = specials + width * 3;
        position = best + 2;
        size = position + dim;
    }
};

/// Blocks 0..W-1: moment j's block sums added as exact digits; block W: the best walker.
/// Integer addition is associative, so the limbs do not depend on the order of the atomics.
/// Each thread first adds consecutive digits at the same limbs in registers (a thread's block
/// sums mostly share an exponent), then adds them to the global limbs (zeroed before launch);
/// 64-bit atomics go to global memory, where they are native (in shared memory they are CAS loops
/// that contend badly).
template <class T, int D>
__global__ void __launch_bounds__(kernels::kMomentThreads)
    exact_totals(const double *block_sums, const Best *bests, std::uint64_t n_blocks,
                 TotalsLayout out_layout, std::uint64_t first_walker, const T *xs, std::uint64_t n,
                 unsigned long long *out) {
    constexpr int W = moment_width(D);
    const int j = blockIdx.x;
    if (j < W) {
        unsigned long long *limbs = out + out_layout.limbs + j * kExactLimbs;
        int limb = -1;
        std::int64_t window[3] = {0, 0, 0};         // digits at limb, limb + 1, limb + 2
        unsigned long long specials[3] = {0, 0, 0}; // +inf, -inf, NaN
        auto flush = [&] {
            if (limb >= 0)
                for (int k = 0; k < 3; ++k)
                    if (window[k]) // two's-complement wrap-around = signed addition
                        atomicAdd(&limbs[limb + k], static_cast<unsigned long long>(window[k]));
        };
        for (std::uint64_t b = threadIdx.x; b < n_blocks; b += blockDim.x) {
            const double x = block_sums[b * W + j];
            if (x == 0)
                continue;
            if (!lgv_isfinite(x)) {
                ++specials[x != x ? 2 : (x > 0 ? 0 : 1)];
                continue;
            }
            // At most n_blocks / 256 digits below 2^32 per register: no overflow.
            const ExactDigits e = exact_digits(x);
            if (e.limb != limb) {
                flush();
                limb = e.limb;
                window[0] = window[1] = window[2] = 0;
            }
            for (int k = 0; k < 3; ++k)
                window[k] += e.digit[k];
        }
        flush();
        for (int k = 0; k < 3; ++k)
            if (specials[k])
                atomicAdd(&out[out_layout.specials + j * 3 + k], specials[k]);
        return;
    }
    Best best;
    for (std::uint64_t b = threadIdx.x; b < n_blocks; b += blockDim.x)
        best.consider(bests[b].energy, bests[b].walker);
    using BlockBest = cub::BlockReduce<Best, kernels::kMomentThreads>;
    __shared__ typename BlockBest::TempStorage best_temp;
    best = BlockBest(best_temp).Reduce(best, LowerBest{});
    if (threadIdx.x == 0) {
        const Best b = best;
        double energy = b.energy;
        std::memcpy(&out[out_layout.best], &energy, sizeof energy);
        out[out_layout.best + 1] = b.walker;
        for (int d = 0; d < D; ++d) {
            double x = 0;
            if (b.walker != ~std::uint64_t(0))
                x = double(xs[std::uint64_t(d) * n + (b.walker - first_walker)]);
            std::memcpy(&out[out_layout.position + d], &x, sizeof x);
        }
    }
}

/// What one observation of a chunk needs on the host: the potential as kernels see it, the count
/// and totals layouts, the passage axis. f(pot, D constant, plan) runs with them.
template <class T, class F>
void with_observe_plan(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                       F &&f) {
    visit_potential_as<T>(model, [&](const auto &host_pot, auto, auto Dc) {
        using Pot = std::decay_t<decltype(host_pot)>;
        constexpr int D = decltype(Dc)::value;
        // The absent target's passage histogram is known: every walker in slot 0.
        const Axis passage = chunk.hit ? spec.passage : Axis{0, 1, 0};
        const CountLayout layout = count_layout<T, D>(spec.grid, host_pot, passage);
        const TotalsLayout totals(layout.size, moment_width(D), D);
        f(host_pot, Dc, passage, layout, totals);
    });
}

template <class T>
std::size_t observe_result_words(const Model &model, const ObserveSpec &spec,
                                 const DeviceChunk &chunk) {
    std::size_t words = 0;
    with_observe_plan<T>(model, spec, chunk,
                         [&](const auto &, auto, const Axis &, const CountLayout &,
                             const TotalsLayout &totals) { words = std::size_t(totals.size); });
    return words;
}

template <class T>
void enqueue_observe(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                     Workspace &ws, unsigned long long *result, cudaStream_t stream,
                     unsigned max_blocks) {
    with_observe_plan<T>(
        model, spec, chunk,
        [&](const auto &host_pot, auto Dc, const Axis &passage, const CountLayout &layout,
            const TotalsLayout &totals) {
            using Pot = std::decay_t<decltype(host_pot)>;
            const Pot pot = on_device(host_pot, ws);
            constexpr int D = decltype(Dc)::value;
            constexpr int W = moment_width(D);
            const T *xs = static_cast<const T *>(chunk.x);
            // Overdamped walkers keep v = 0: skip half the reads.
            const T *vs = model.underdamped() ? static_cast<const T *>(chunk.v) : nullptr;
            const std::uint64_t n = chunk.count;
            const std::uint64_t n_blocks = (n + kMomentBlock - 1) / kMomentBlock;
            auto *sums =
                static_cast<double *>(ws.block_sums.reserve(sizeof(double) * W * n_blocks));
            auto *bests = static_cast<Best *>(ws.best.reserve(sizeof(Best) * n_blocks));
            LGV_CUDA_CHECK(
                cudaMemsetAsync(result, 0, sizeof(unsigned long long) * totals.size, stream));
            const std::size_t shared = layout.in_shared ? sizeof(unsigned int) * layout.size : 0;
            if (n_blocks > 0) {
                const unsigned grid_blocks =
                    max_blocks > 0 && max_blocks < n_blocks ? max_blocks : unsigned(n_blocks);
                auto launch = [&](auto plain) {
                    observe_blocks<Pot, T, D, decltype(plain)::value>
                        <<<grid_blocks, kernels::kMomentThreads, shared, stream>>>(
                            pot, spec.grid, passage, layout, spec.init, model.seed, chunk.first, xs,
                            vs, chunk.hit, n, sums, bests, result);
                };
                if (vs == nullptr && chunk.hit == nullptr)
                    launch(std::true_type{});
                else
                    launch(std::false_type{});
                LGV_CUDA_CHECK_LAUNCH();
            }
            exact_totals<T, D><<<W + 1, kernels::kMomentThreads, 0, stream>>>(
                sums, bests, n_blocks, totals, chunk.first, xs, n, result);
            LGV_CUDA_CHECK_LAUNCH();
        });
}

template <class T>
void unpack_observation(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                        const unsigned long long *host, Observation &out) {
    const Grid &grid = spec.grid;
    with_observe_plan<T>(
        model, spec, chunk,
        [&](const auto &pot, auto Dc, const Axis &, const CountLayout &layout,
            const TotalsLayout &totals) {
            constexpr int D = decltype(Dc)::value;
            constexpr int W = moment_width(D);
            auto take = [&](int offset, int size, std::vector<std::uint64_t> &to) {
                to.assign(host + offset, host + offset + size);
            };
            for (int d = 0; d < D; ++d)
                out.marginal.insert(out.marginal.end(), host + layout.marginal[d],
                                    host + layout.marginal[d] + grid.axes[d].bins + 2);
            if (layout.joint >= 0)
                take(layout.joint, grid.axes[0].bins * grid.axes[D - 1].bins + 2, out.joint);
            if (layout.basins >= 0)
                take(layout.basins, pot.basin_count(), out.basins); // without the non-finite slot
            if (spec.passage.bins > 0) {
                if (chunk.hit) {
                    take(layout.passage, spec.passage.bins + 2, out.passage);
                } else {
                    out.passage.assign(spec.passage.bins + 2, 0);
                    out.passage[0] = chunk.count; // nobody can hit an absent target
                }
            }
            out.outside_box = host[layout.outside >= 0 ? layout.outside : layout.marginal[0]];
            for (int j = 0; j < W; ++j) {
                std::int64_t limbs[kExactLimbs];
                std::memcpy(limbs, &host[totals.limbs + j * kExactLimbs], sizeof limbs);
                const auto *special = &host[totals.specials + j * 3];
                out.moment_sums.push_back(
                    ExactSum::from_limbs(limbs, special[0], special[1], special[2]));
            }
            double energy;
            std::memcpy(&energy, &host[totals.best], sizeof energy);
            const std::uint64_t walker = host[totals.best + 1];
            if (walker != ~std::uint64_t(0)) {
                out.best.consider(energy, walker);
                for (int d = 0; d < D; ++d) {
                    double x;
                    std::memcpy(&x, &host[totals.position + d], sizeof x);
                    out.best_position.push_back(x);
                }
            }
        });
}

template <class T>
void launch_observe(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                    Workspace &ws, Observation &out) {
    const std::size_t words = observe_result_words<T>(model, spec, chunk);
    auto *result =
        static_cast<unsigned long long *>(ws.counts.reserve(sizeof(unsigned long long) * words));
    enqueue_observe<T>(model, spec, chunk, ws, result, cudaStream_t{}, 0);
    std::vector<unsigned long long> host(words);
    LGV_CUDA_CHECK(cudaMemcpy(host.data(), result, sizeof(unsigned long long) * words,
                              cudaMemcpyDeviceToHost));
    unpack_observation<T>(model, spec, chunk, host.data(), out);
}

} // namespace langevin::cuda
