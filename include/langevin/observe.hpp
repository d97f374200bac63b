// Per-walker observables shared by every backend: finiteness, slots, partial sums.
#pragma once

#include "langevin/first_passage.hpp"
#include "langevin/grid.hpp"
#include "langevin/init.hpp"
#include "langevin/vec.hpp"

namespace langevin {

/// Moments are summed in fixed blocks of this many walkers (aligned to global walker ids) and
/// the block sums are added on the host exactly (ExactSum), so moments are bitwise the same for
/// any chunking, thread count, shard or MPI rank count. Chunks and shards are multiples of it.
constexpr std::uint64_t kMomentBlock = 4096;

/// Layout of one block's partial sums (doubles), with u_d = x_d - shift_d (the grid's centre, to
/// keep the variance free of cancellation), x0 the walker's initial position and t its hit step:
/// [finite count, sum E, sum |v|^2, sum u_d (d < D), sum u_d^2 (d < D), sum |x - x0|^2,
///  hit count, sum t, sum t^2]. The first-passage sums include non-finite walkers.
LGV_HD constexpr int moment_width(int dim) {
    return 3 + 2 * dim + 4;
}
namespace moment {
LGV_HD constexpr int msd(int dim) {
    return 3 + 2 * dim;
}
LGV_HD constexpr int hits(int dim) {
    return 4 + 2 * dim;
}
} // namespace moment

/// What observe() computes besides the histograms of the grid.
struct ObserveSpec {
    Grid grid;
    InitSpec init; ///< regenerates initial positions for the mean-square displacement
    Axis passage;  ///< histogram of hit steps; bins = 0: none
};

/// A walker is non-finite when any coordinate or velocity is NaN or infinite.
template <class T, int D>
LGV_HD LGV_INLINE bool walker_is_finite(const Vec<T, D> &x, const Vec<T, D> &v) {
    bool ok = true;
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        ok = ok && lgv_isfinite(x[d]) && lgv_isfinite(v[d]);
    return ok;
}

/// Adds one walker to a block's partial sums (layout above). energy_of() gives its energy as a
/// double; it is called for finite walkers only. Returns that energy, which the caller's best
/// walker reuses (NaN for a non-finite walker: not summed, no energy computed).
/// moving = false: v is zero (overdamped), so sum |v|^2 gains +0 and is skipped. x0 is a
/// Vec<T, D> or its exact conversion Vec<double, D> (the same sums).
template <class EnergyOf, class T, int D, class X0>
LGV_HD LGV_INLINE double add_moments(const EnergyOf &energy_of, const Vec<T, D> &x,
                                     const Vec<T, D> &v, const X0 &x0, std::uint64_t hit,
                                     const double *shift, double *sums, bool moving = true) {
    if (hit != kNotHit) {
        const double t = double(hit);
        sums[moment::hits(D)] += 1.0;
        sums[moment::hits(D) + 1] += t;
        sums[moment::hits(D) + 2] += t * t;
    }
    if (!walker_is_finite(x, v))
        return double(NAN);
    const double energy = energy_of();
    sums[0] += 1.0;
    sums[1] += energy;
    // The d = 0 terms start the sums: 0 + a is a for these squares (never -0), one add less.
    double v2 = 0, msd = 0;
    LGV_UNROLL
    for (int d = 0; d < D; ++d) {
        const double u = double(x[d]) - shift[d];
        const double s = double(x[d]) - double(x0[d]);
        if (moving)
            v2 = d == 0 ? double(v[d]) * double(v[d]) : v2 + double(v[d]) * double(v[d]);
        msd = d == 0 ? s * s : msd + s * s;
        sums[3 + d] += u;
        sums[3 + D + d] += u * u;
    }
    if (moving)
        sums[2] += v2;
    sums[moment::msd(D)] += msd;
    return energy;
}

/// add_moments with the energy taken from the potential.
template <class Pot, class T, int D, class X0>
LGV_HD LGV_INLINE double accumulate_moments(const Pot &pot, const Vec<T, D> &x, const Vec<T, D> &v,
                                            const X0 &x0, std::uint64_t hit, const double *shift,
                                            double *sums, bool moving = true) {
    return add_moments([&] { return double(pot.energy(x)); }, x, v, x0, hit, shift, sums, moving);
}

/// The slot of each coordinate on its axis (axis_slot); true when every coordinate lies inside
/// its axis range.
template <class T, int D>
LGV_HD LGV_INLINE bool grid_slots(const Vec<T, D> &x, const Grid &grid, int (&slots)[D]) {
    bool inside = true;
    LGV_UNROLL
    for (int d = 0; d < D; ++d) {
        slots[d] = axis_slot(double(x[d]), grid.axes[d]);
        inside = inside && slots[d] != 0;
    }
    return inside;
}

/// Slot of a hit step in the passage-time histogram: 0 not hit (or outside), 1..bins.
LGV_HD LGV_INLINE int passage_slot(std::uint64_t hit, const Axis &axis) {
    return hit == kNotHit ? 0 : axis_slot(double(hit), axis);
}

/// Centre of each axis: the shift of the moment sums.
inline void grid_centres(const Grid &grid, double *shift) {
    for (int d = 0; d < grid.dim; ++d)
        shift[d] = 0.5 * (grid.axes[d].lo + grid.axes[d].hi);
}

/// The lowest energy among a set of walkers and the first walker (lowest id) that has it.
struct Best {
    double energy = HUGE_VAL;
    std::uint64_t walker = ~std::uint64_t(0);
    /// Keeps the lower energy; on a tie, the lower walker id (order-independent).
    LGV_HD LGV_INLINE void consider(double e, std::uint64_t w) {
        if (e < energy || (e == energy && w < walker)) {
            energy = e;
            walker = w;
        }
    }
};

} // namespace langevin
