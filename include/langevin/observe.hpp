// Per-walker observables shared by every backend: finiteness, slots, partial sums.
#pragma once

#include "langevin/grid.hpp"
#include "langevin/vec.hpp"

namespace langevin {

/// Moments are summed in fixed blocks of this many walkers (aligned to global walker ids) and
/// the block sums are added on the host in walker order, so moments are bitwise the same for any
/// chunking and thread count. Chunks are multiples of it.
constexpr std::uint64_t kMomentBlock = 4096;

/// Layout of one block's partial sums (doubles), with u_d = x_d - shift_d (the grid's centre, to
/// keep the variance free of cancellation):
/// [finite count, sum E, sum |v|^2, sum u_d (d < D), sum u_d^2 (d < D)].
LGV_HD constexpr int moment_width(int dim) {
    return 3 + 2 * dim;
}

/// A walker is non-finite when any coordinate or velocity is NaN or infinite.
template <class T, int D>
LGV_HD LGV_INLINE bool walker_is_finite(const Vec<T, D> &x, const Vec<T, D> &v) {
    bool ok = true;
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        ok = ok && lgv_isfinite(x[d]) && lgv_isfinite(v[d]);
    return ok;
}

/// Adds one finite walker to a block's partial sums (layout above).
template <class Pot, class T, int D>
LGV_HD LGV_INLINE void accumulate_moments(const Pot &pot, const Vec<T, D> &x, const Vec<T, D> &v,
                                          const double *shift, double *sums) {
    sums[0] += 1.0;
    sums[1] += double(pot.energy(x));
    double v2 = 0;
    LGV_UNROLL
    for (int d = 0; d < D; ++d) {
        const double xd = double(x[d]) - shift[d];
        v2 += double(v[d]) * double(v[d]);
        sums[3 + d] += xd;
        sums[3 + D + d] += xd * xd;
    }
    sums[2] += v2;
}

} // namespace langevin

namespace langevin {
/// True when every coordinate lies inside its axis range.
template <class T, int D> LGV_HD LGV_INLINE bool inside_grid(const Vec<T, D> &x, const Grid &grid) {
    bool in = true;
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        in = in && axis_slot(double(x[d]), grid.axes[d]) != 0;
    return in;
}
/// Centre of each axis: the shift of the moment sums.
inline void grid_centres(const Grid &grid, double *shift) {
    for (int d = 0; d < grid.dim; ++d)
        shift[d] = 0.5 * (grid.axes[d].lo + grid.axes[d].hi);
}
} // namespace langevin
