// Harmonic well: E(x) = (k/2) |x - c|^2 in any dimension D.
// Parameters: k > 0 (stiffness), centre c (one number or one per dimension).
// Overdamped it is the Ornstein-Uhlenbeck process; Euler-Maruyama on it is an exact Gaussian
// AR(1), x - c <- a (x - c) + sqrt(2 T dt / gamma) xi with a = 1 - k dt / gamma (friction gamma).
// Boltzmann law: N(c, T/k) per coordinate.
// Reference: Uhlenbeck & Ornstein, Phys. Rev. 36, 823 (1930).
#pragma once

#include <vector>

#include "langevin/potential.hpp"

namespace langevin {

struct Harmonic {
    static constexpr const char *name = "harmonic";
    static constexpr const char *summary = "E = k/2 |x - centre|^2 (Ornstein-Uhlenbeck)";
    static constexpr int fixed_dim = 0;
    static constexpr bool separable = true;
    static constexpr bool product_basins = false;
    int dim = 1;
    double k = 1.0;
    double centre[kMaxDim] = {};

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &x) const {
        return separable_energy(*this, x);
    }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &x) const {
        Vec<T, D> f;
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            f[d] = -T(k) * (x[d] - T(centre[d]));
        return f;
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int d, T x) const {
        const T u = x - T(centre[d]);
        return T(0.5) * T(k) * u * u;
    }

    int global_basin() const { return -1; }
    LGV_HD static constexpr int basin_count() { return 0; }
    static const char *basin_name(int) { return ""; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &) const { return -1; }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T) const { return -1; }

    static std::vector<ParamSpec> params() {
        return {{"k", 1.0, false, "stiffness (> 0)"},
                {"centre", 0.0, true, "minimum position (one number or one per dimension)"}};
    }
    static Harmonic make(const ParamValues &values, int dim) {
        Harmonic p;
        p.dim = dim;
        p.k = detail::scalar_param(values, "k");
        detail::require_positive("k", p.k);
        detail::per_dim_param(values, "centre", dim, p.centre);
        return p;
    }
    Range default_range(int d) const { return {centre[d] - 5.0, centre[d] + 5.0}; }
};

} // namespace langevin
