// The kernels: one thread per walker, state in registers, the shared per-walker bodies.
#pragma once

#include "langevin/advance.hpp"
#include "langevin/init.hpp"
#include "langevin/observe.hpp"

namespace langevin::kernels {

/// Loads walker i of arrays laid out x[d * stride + i]; vs = null (overdamped walkers) reads no
/// velocities: v = 0.
template <class T, int D>
__device__ __forceinline__ void fetch(const T *xs, const T *vs, std::uint64_t stride,
                                      std::uint64_t i, Vec<T, D> &x, Vec<T, D> &v) {
    LGV_UNROLL
    for (int d = 0; d < D; ++d) {
        x[d] = xs[d * stride + i];
        v[d] = vs ? vs[d * stride + i] : T(0);
    }
}

/// Stores walker i (and its velocities if WithVelocities).
template <bool WithVelocities = true, class T, int D>
__device__ __forceinline__ void store(T *xs, T *vs, std::uint64_t stride, std::uint64_t i,
                                      const Vec<T, D> &x, const Vec<T, D> &v) {
    LGV_UNROLL
    for (int d = 0; d < D; ++d) {
        xs[d * stride + i] = x[d];
        if constexpr (WithVelocities)
            vs[d * stride + i] = v[d];
    }
}

template <class T, int D>
__global__ void initialize(InitSpec init, Target target, std::uint64_t seed,
                           std::uint64_t first_walker, T *xs, T *vs, std::uint64_t *hits,
                           std::uint64_t n) {
    const std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    Vec<T, D> x, v;
    init_walker(init, seed, first_walker + i, x, v);
    store(xs, vs, n, i, x, v);
    if (hits)
        hits[i] = target.contains(x) ? 0 : kNotHit;
}

/// Steps walkers [0, n) of arrays laid out x[d * stride + i] (a chunk, or a slice of one) from
/// (xin, vin, hin) into (xs, vs, hits): the same arrays (in place) or the other half of a double
/// buffer. Overdamped integrators leave v as it is (integrator.hpp), so their velocities are
/// neither read nor written (the halves of a double buffer share them). Checked = false
/// (constant schedule, no target) compiles only the hot loop, which keeps the register count at
/// full occupancy.
template <class Integ, class Pot, class T, int D, bool Checked>
__global__ void advance(Integ integ, Pot pot, const typename Integ::template Coeffs<T> *coeffs,
                        bool varying, Target target, std::uint64_t key, std::uint64_t first_walker,
                        std::uint64_t first_step, std::uint64_t n_steps, const T *xin, const T *vin,
                        const std::uint64_t *hin, T *xs, T *vs, std::uint64_t *hits,
                        std::uint64_t n, std::uint64_t stride) {
    const std::uint64_t i = std::uint64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    constexpr bool moving = Integ::underdamped;
    Vec<T, D> x, v;
    fetch(xin, moving ? vin : nullptr, stride, i, x, v);
    if constexpr (Checked) {
        std::uint64_t hit = hits ? hin[i] : kNotHit;
        advance_walker(integ, pot, coeffs, varying, target, x, v, hit, key, first_walker + i,
                       first_step, n_steps);
        if (hits)
            hits[i] = hit;
    } else {
        std::uint64_t hit = kNotHit;
        advance_walker(integ, pot, coeffs, false, Target{}, x, v, hit, key, first_walker + i,
                       first_step, n_steps);
    }
    store<moving>(xs, vs, stride, i, x, v);
}

/// Threads per moment block: each sums kMomentBlock / kMomentThreads walkers in a fixed order.
constexpr int kMomentThreads = 256;

} // namespace langevin::kernels
