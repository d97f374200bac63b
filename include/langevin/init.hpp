// Initial conditions, drawn from streams of their own purpose (independent of the dynamics).
#pragma once

#include "langevin/potential.hpp"
#include "langevin/rng.hpp"

namespace langevin {

/// How walkers start. Velocities (underdamped only) are Maxwell-Boltzmann at the initial T:
/// v_d ~ N(0, T0/m).
struct InitSpec {
    enum class Kind { point, uniform, gaussian };
    Kind kind = Kind::point;
    double point[kMaxDim] = {}; ///< point, and the gaussian's mean
    double low[kMaxDim] = {};   ///< uniform box
    double high[kMaxDim] = {};
    double sigma[kMaxDim] = {}; ///< gaussian standard deviation per coordinate
    double velocity_sigma = 0;  ///< sqrt(T0 / m); 0 for overdamped runs
};

/// Coordinate d of a start from its draw r: uniform, r on (0, 1] (high at r = 1); gaussian,
/// r ~ N(0, 1). The CPU backend draws r for many walkers at once and maps them here too.
template <class T> LGV_HD LGV_INLINE T start_coordinate(const InitSpec &init, int d, T r) {
    if (init.kind == InitSpec::Kind::uniform)
        return T(init.high[d] - (init.high[d] - init.low[d]) * double(r));
    return T(init.point[d] + init.sigma[d] * double(r));
}

/// A start velocity coordinate from its draw xi ~ N(0, 1).
template <class T> LGV_HD LGV_INLINE T start_velocity(const InitSpec &init, T xi) {
    return T(init.velocity_sigma * double(xi));
}

/// The walker's initial position alone (what the mean-square displacement needs at every
/// sample): no random stream is set up for init = point.
template <class T, int D>
LGV_HD LGV_INLINE void init_position(const InitSpec &init, std::uint64_t seed, std::uint64_t walker,
                                     Vec<T, D> &x) {
    if (init.kind == InitSpec::Kind::point) {
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            x[d] = T(init.point[d]);
        return;
    }
    WalkerRng rng(stream_key(seed, Purpose::init_position), walker, 0);
    Vec<T, D> r;
    if (init.kind == InitSpec::Kind::uniform)
        rng.uniforms(r); // (0, 1]
    else
        rng.normals(r);
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        x[d] = start_coordinate(init, d, r[d]);
}

template <class T, int D>
LGV_HD LGV_INLINE void init_walker(const InitSpec &init, std::uint64_t seed, std::uint64_t walker,
                                   Vec<T, D> &x, Vec<T, D> &v) {
    init_position(init, seed, walker, x);
    WalkerRng vrng(stream_key(seed, Purpose::init_velocity), walker, 0);
    Vec<T, D> xi;
    vrng.normals(xi);
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        v[d] = start_velocity(init, xi[d]);
}

} // namespace langevin
