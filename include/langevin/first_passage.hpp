// First passage: the first step after which a walker lies in a target region. Checked after
// every step inside the stepping loop; a walker's hit step is part of its state (checkpointed).
#pragma once

#include "langevin/potential.hpp"
#include "langevin/vec.hpp"

namespace langevin {

/// "Not yet": the hit step of a walker that has not reached the target.
constexpr std::uint64_t kNotHit = ~std::uint64_t(0);

/// A half-space x_d > value (above) or x_d < value (below), or a ball |x - centre| < radius.
struct Target {
    enum class Kind { none, above, below, ball };
    Kind kind = Kind::none;
    int coordinate = 0;
    double value = 0;
    double centre[kMaxDim] = {};
    double radius = 0;

    LGV_HD LGV_INLINE bool active() const { return kind != Kind::none; }
    template <class T, int D> LGV_HD LGV_INLINE bool contains(const Vec<T, D> &x) const {
        if (kind == Kind::above)
            return double(x[coordinate]) > value;
        if (kind == Kind::below)
            return double(x[coordinate]) < value;
        double r2 = 0;
        LGV_UNROLL
        for (int d = 0; d < D; ++d) {
            const double u = double(x[d]) - centre[d];
            r2 += u * u;
        }
        return r2 < radius * radius;
    }
};

} // namespace langevin
