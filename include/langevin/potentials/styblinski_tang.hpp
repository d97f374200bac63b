// Styblinski-Tang function in D dimensions: E(x) = (1/2) sum_d (x_d^4 - 16 x_d^2 + 5 x_d).
// No parameters. Global minimum -39.166165703771 D at x_d = -2.903534027771177; each 1-D term
// also has a local minimum near x = 2.7468 behind a maximum at x_b = 0.15673.
// Basins: "global" when every x_d < x_b, "other" otherwise.
// Reference: M. A. Styblinski & T.-S. Tang, Neural Networks 3, 467 (1990).
#pragma once

#include <vector>

#include "langevin/potential.hpp"

namespace langevin {

struct StyblinskiTang {
    static constexpr const char *name = "styblinski_tang";
    static constexpr const char *summary = "E = 1/2 sum (x^4 - 16 x^2 + 5 x)";
    static constexpr int fixed_dim = 0;
    static constexpr bool separable = true;
    static constexpr bool product_basins = true;
    static constexpr bool same_coordinates = true;
    int dim = 1;
    double barrier = 0.0; ///< 1-D local maximum; global cell: x_d < barrier

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &x) const {
        return separable_energy(*this, x);
    }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &x) const {
        Vec<T, D> f;
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            f[d] = -T(0.5) * (T(4) * x[d] * x[d] * x[d] - T(32) * x[d] + T(5));
        return f;
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int, T x) const {
        const T x2 = x * x;
        return T(0.5) * (x2 * x2 - T(16) * x2 + T(5) * x);
    }

    int global_basin() const { return 0; }
    LGV_HD static constexpr int basin_count() { return 2; }
    static const char *basin_name(int i) { return i == 0 ? "global" : "other"; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &x) const {
        return product_basin(*this, x);
    }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T x) const {
        return double(x) < barrier ? 0 : 1;
    }

    static std::vector<ParamSpec> params() { return {}; }
    static StyblinskiTang make(const ParamValues &, int dim) {
        StyblinskiTang p;
        p.dim = dim;
        // Root of the slope 4x^3 - 32x + 5 between the two minima.
        double lo = -1.0, hi = 1.0;
        for (int i = 0; i < 100; ++i) {
            const double mid = 0.5 * (lo + hi);
            (4 * mid * mid * mid - 32 * mid + 5 > 0 ? lo : hi) = mid;
        }
        p.barrier = 0.5 * (lo + hi);
        return p;
    }
    Range default_range(int) const { return {-5.0, 5.0}; }
};

} // namespace langevin
