// Free particle: E(x) = 0 in any dimension D. With an overdamped integrator this is Brownian
// motion, x_t - x_0 ~ N(0, 2 (T/gamma) t I) (Einstein 1905). There is no normalisable
// Boltzmann law, so density comparisons report "n/a".
#pragma once

#include <vector>

#include "langevin/potential.hpp"

namespace langevin {

struct Free {
    static constexpr const char *name = "free";
    static constexpr const char *summary = "E = 0 (Brownian motion); no Boltzmann law";
    static constexpr int fixed_dim = 0;
    static constexpr bool separable = false; // no normalisable factor to compare with
    static constexpr bool product_basins = false;
    int dim = 1;

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &) const { return T(0); }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &) const {
        Vec<T, D> f;
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            f[d] = T(0);
        return f;
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int, T) const { return T(0); }

    int global_basin() const { return -1; }
    LGV_HD static constexpr int basin_count() { return 0; }
    static const char *basin_name(int) { return ""; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &) const { return -1; }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T) const { return -1; }

    static std::vector<ParamSpec> params() { return {}; }
    static Free make(const ParamValues &, int dim) {
        Free p;
        p.dim = dim;
        return p;
    }
    Range default_range(int) const { return {-5.0, 5.0}; }
};

} // namespace langevin
