// Observables of a chunk on the device: CUB histograms over every slot (outside and non-finite
// included, so counts sum to the chunk size), a CUB sum, and fixed-shape block moment sums.
#pragma once

#include <vector>

#include <cub/block/block_reduce.cuh>
#include <cub/device/device_histogram.cuh>
#include <cub/device/device_reduce.cuh>
#include <thrust/iterator/counting_iterator.h>
#include <thrust/iterator/transform_iterator.h>

#include "cuda_launch.cuh"
#include "for_each_walker.cuh"

namespace langevin::cuda {

/// Slot of walker i in the marginal histogram of coordinate d (bins + 1: non-finite). Each
/// functor carries only what it reads, to keep the CUB histogram kernels free of spills.
template <class T, int D> struct MarginalSlot {
    const T *xs;
    const T *vs;
    std::uint64_t n;
    Axis axis;
    int d;
    __host__ __device__ int operator()(std::int64_t i) const {
        Vec<T, D> x, v;
        kernels::fetch(xs, vs, n, i, x, v);
        return walker_is_finite(x, v) ? axis_slot(double(x[d]), axis) : axis.bins + 1;
    }
};

/// Slot of walker i in the joint 2-D histogram.
template <class T, int D> struct JointSlot {
    const T *xs;
    const T *vs;
    std::uint64_t n;
    Axis a0, a1;
    __host__ __device__ int operator()(std::int64_t i) const {
        Vec<T, D> x, v;
        kernels::fetch(xs, vs, n, i, x, v);
        return walker_is_finite(x, v) ? joint_slot(double(x[0]), double(x[D - 1]), a0, a1)
                                      : a0.bins * a1.bins + 1;
    }
};

/// Basin of walker i (basin_count: non-finite).
template <class Pot, class T, int D> struct BasinSlot {
    const T *xs;
    const T *vs;
    std::uint64_t n;
    Pot pot;
    __host__ __device__ int operator()(std::int64_t i) const {
        Vec<T, D> x, v;
        kernels::fetch(xs, vs, n, i, x, v);
        return walker_is_finite(x, v) ? pot.basin(x) : pot.basin_count();
    }
};

/// 1 for a finite walker outside the grid box.
template <class T, int D> struct OutsideOf {
    const T *xs;
    const T *vs;
    std::uint64_t n;
    Grid grid;
    __host__ __device__ unsigned long long operator()(std::int64_t i) const {
        Vec<T, D> x, v;
        kernels::fetch(xs, vs, n, i, x, v);
        return walker_is_finite(x, v) && !inside_grid(x, grid) ? 1ull : 0ull;
    }
};

/// Slot of walker i's hit step in the passage-time histogram.
struct PassageSlotOf {
    const std::uint64_t *hits;
    Axis axis;
    __host__ __device__ int operator()(std::int64_t i) const { return passage_slot(hits[i], axis); }
};

/// Energy of walker i, +inf when non-finite (never the best).
template <class Pot, class T, int D> struct EnergyOf {
    const T *xs;
    const T *vs;
    std::uint64_t n;
    Pot pot;
    __host__ __device__ double operator()(std::int64_t i) const {
        Vec<T, D> x, v;
        kernels::fetch(xs, vs, n, i, x, v);
        return walker_is_finite(x, v) ? double(pot.energy(x)) : HUGE_VAL;
    }
};

/// One CUDA block per moment block; thread t sums walkers t, t + 256, ... of it, then a fixed
/// CUB block reduction: the order never depends on the stepping kernel's launch shape.
template <class Pot, class T, int D>
__global__ void moment_blocks(Pot pot, Grid grid, InitSpec init, std::uint64_t seed,
                              std::uint64_t first_walker, const T *xs, const T *vs,
                              const std::uint64_t *hits, std::uint64_t n, double *out) {
    constexpr int W = moment_width(D);
    double sums[W];
    LGV_UNROLL
    for (int j = 0; j < W; ++j)
        sums[j] = 0.0;
    double shift[D];
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        shift[d] = 0.5 * (grid.axes[d].lo + grid.axes[d].hi);
    const std::uint64_t base = std::uint64_t(blockIdx.x) * kMomentBlock;
    for (std::uint64_t k = threadIdx.x; k < kMomentBlock; k += kernels::kMomentThreads) {
        const std::uint64_t i = base + k;
        if (i >= n)
            break;
        Vec<T, D> x, v, x0, v0;
        kernels::fetch(xs, vs, n, i, x, v);
        init_walker(init, seed, first_walker + i, x0, v0);
        accumulate_moments(pot, x, v, x0, hits ? hits[i] : kNotHit, shift, sums);
    }
    using Reduce = cub::BlockReduce<double, kernels::kMomentThreads>;
    __shared__ typename Reduce::TempStorage temp;
#pragma unroll 1
    for (int j = 0; j < W; ++j) {
        const double total = Reduce(temp).Sum(sums[j]);
        if (threadIdx.x == 0)
            out[std::uint64_t(blockIdx.x) * W + j] = total;
        __syncthreads(); // temp is reused
    }
}

/// Counts slots 0..n_slots-1 of `slot_of` over the chunk, appending them to `out`.
template <class F>
void histogram(const F &slot_of, std::uint64_t count, int n_slots, Workspace &ws,
               std::vector<std::uint64_t> &out) {
    auto samples =
        thrust::make_transform_iterator(thrust::counting_iterator<std::int64_t>(0), slot_of);
    int *counts = static_cast<int *>(ws.counts.reserve(sizeof(int) * n_slots));
    std::size_t temp_bytes = 0;
    const int n = static_cast<int>(count);
    LGV_CUDA_CHECK(cub::DeviceHistogram::HistogramEven(nullptr, temp_bytes, samples, counts,
                                                       n_slots + 1, 0, n_slots, n));
    void *temp = ws.temp.reserve(temp_bytes);
    LGV_CUDA_CHECK(cub::DeviceHistogram::HistogramEven(temp, temp_bytes, samples, counts,
                                                       n_slots + 1, 0, n_slots, n));
    std::vector<int> host(n_slots);
    LGV_CUDA_CHECK(cudaMemcpy(host.data(), counts, sizeof(int) * n_slots, cudaMemcpyDeviceToHost));
    out.insert(out.end(), host.begin(), host.end());
}

template <class T>
void launch_observe(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                    Workspace &ws, Observation &out) {
    const Grid &grid = spec.grid;
    visit_potential_as<T>(model, [&](const auto &host_pot, auto, auto Dc) {
        using Pot = std::decay_t<decltype(host_pot)>;
        const Pot pot = on_device(host_pot);
        constexpr int D = decltype(Dc)::value;
        const T *xs = static_cast<const T *>(chunk.x);
        // Overdamped walkers keep v = 0: skip half the reads.
        const T *vs = model.underdamped() ? static_cast<const T *>(chunk.v) : nullptr;
        const std::uint64_t n = chunk.count;
        for (int d = 0; d < D; ++d)
            histogram(MarginalSlot<T, D>{xs, vs, n, grid.axes[d], d}, n, grid.axes[d].bins + 2, ws,
                      out.marginal);
        if (D == 2 && grid.joint)
            histogram(JointSlot<T, D>{xs, vs, n, grid.axes[0], grid.axes[D - 1]}, n,
                      grid.axes[0].bins * grid.axes[D - 1].bins + 2, ws, out.joint);
        if (pot.basin_count() > 0) {
            histogram(BasinSlot<Pot, T, D>{xs, vs, n, pot}, n, pot.basin_count() + 1, ws,
                      out.basins);
            out.basins.pop_back(); // the non-finite slot
        }
        if (spec.passage.bins > 0) {
            if (chunk.hit)
                histogram(PassageSlotOf{chunk.hit, spec.passage}, n, spec.passage.bins + 2, ws,
                          out.passage);
            else {
                out.passage.assign(spec.passage.bins + 2, 0);
                out.passage[0] = n; // nobody can hit an absent target
            }
        }

        {
            auto flags = thrust::make_transform_iterator(thrust::counting_iterator<std::int64_t>(0),
                                                         OutsideOf<T, D>{xs, vs, n, grid});
            auto *total =
                static_cast<unsigned long long *>(ws.total.reserve(sizeof(unsigned long long)));
            std::size_t temp_bytes = 0;
            LGV_CUDA_CHECK(cub::DeviceReduce::Sum(nullptr, temp_bytes, flags, total, int(n)));
            void *temp = ws.temp.reserve(temp_bytes);
            LGV_CUDA_CHECK(cub::DeviceReduce::Sum(temp, temp_bytes, flags, total, int(n)));
            unsigned long long outside = 0;
            LGV_CUDA_CHECK(cudaMemcpy(&outside, total, sizeof outside, cudaMemcpyDeviceToHost));
            out.outside_box = outside;
        }

        {
            // The lowest energy and the first walker that has it (CUB's ArgMin keeps the first).
            auto energies = thrust::make_transform_iterator(
                thrust::counting_iterator<std::int64_t>(0), EnergyOf<Pot, T, D>{xs, vs, n, pot});
            auto *emin = static_cast<double *>(ws.best_energy.reserve(sizeof(double)));
            auto *imin = static_cast<std::int64_t *>(ws.best_index.reserve(sizeof(std::int64_t)));
            std::size_t temp_bytes = 0;
            LGV_CUDA_CHECK(cub::DeviceReduce::ArgMin(nullptr, temp_bytes, energies, emin, imin,
                                                     std::int64_t(n)));
            void *temp = ws.temp.reserve(temp_bytes);
            LGV_CUDA_CHECK(
                cub::DeviceReduce::ArgMin(temp, temp_bytes, energies, emin, imin, std::int64_t(n)));
            double e = HUGE_VAL;
            std::int64_t index = 0;
            LGV_CUDA_CHECK(cudaMemcpy(&e, emin, sizeof e, cudaMemcpyDeviceToHost));
            LGV_CUDA_CHECK(cudaMemcpy(&index, imin, sizeof index, cudaMemcpyDeviceToHost));
            if (e < HUGE_VAL) {
                out.best.consider(e, chunk.first + std::uint64_t(index));
                for (int d = 0; d < D; ++d) {
                    T value;
                    LGV_CUDA_CHECK(cudaMemcpy(&value, xs + std::size_t(d) * n + index, sizeof value,
                                              cudaMemcpyDeviceToHost));
                    out.best_position.push_back(double(value));
                }
            }
        }

        const std::uint64_t n_blocks = (n + kMomentBlock - 1) / kMomentBlock;
        constexpr int W = moment_width(D);
        auto *sums = static_cast<double *>(ws.block_sums.reserve(sizeof(double) * W * n_blocks));
        moment_blocks<Pot, T, D><<<static_cast<unsigned>(n_blocks), kernels::kMomentThreads>>>(
            pot, grid, spec.init, model.seed, chunk.first, xs, vs, chunk.hit, n, sums);
        LGV_CUDA_CHECK_LAUNCH();
        out.block_sums.resize(W * n_blocks);
        LGV_CUDA_CHECK(cudaMemcpy(out.block_sums.data(), sums, sizeof(double) * W * n_blocks,
                                  cudaMemcpyDeviceToHost));
    });
}

} // namespace langevin::cuda
