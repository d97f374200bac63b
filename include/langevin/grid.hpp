// Binning shared by every backend. A histogram of B bins has B + 2 slots: slot 0 counts finite
// walkers outside the grid, slots 1..B the bins, slot B + 1 non-finite walkers, so the slots
// always sum to the number of walkers (CUB's histogram would drop outliers silently).
#pragma once

#include "langevin/core.hpp"
#include "langevin/potential.hpp"

namespace langevin {

/// Bins of one coordinate: `bins` equal bins on [lo, hi).
struct Axis {
    double lo = 0, hi = 1;
    int bins = 1;
};

/// The user's histogram grid: one axis per dimension; `joint` adds the 2-D histogram (D = 2).
struct Grid {
    int dim = 1;
    Axis axes[kMaxDim];
    bool joint = false;
};

/// Slot of x on an axis: 0 outside [lo, hi) (or NaN), 1..bins inside. Double arithmetic with
/// no FMA pattern, so the host and the device agree on every x; the scale bins / (hi - lo) is
/// loop-invariant (one product per walker, not a division). The outer edges are exact; an inner
/// edge may go to either neighbour within an ulp, and the last bin takes what rounds up to
/// `bins` just below hi (or a NaN product: configurations keep hi - lo finite).
LGV_HD LGV_INLINE int axis_slot(double x, const Axis &axis) {
    if (!(x >= axis.lo && x < axis.hi))
        return 0;
    const double u = (x - axis.lo) * (double(axis.bins) / (axis.hi - axis.lo));
    return 1 + (u < double(axis.bins) ? static_cast<int>(u) : axis.bins - 1);
}

/// Slot of the joint histogram of axes 0 and 1 from the axis slots s0, s1 of a finite walker:
/// 0 outside, 1 + i0 * bins1 + i1 inside (bins0 * bins1 + 1 counts non-finite walkers).
LGV_HD LGV_INLINE int joint_slot(int s0, int s1, const Axis &a1) {
    if (s0 == 0 || s1 == 0)
        return 0;
    return 1 + (s0 - 1) * a1.bins + (s1 - 1);
}

} // namespace langevin
