// Rastrigin function in D dimensions: E(x) = A D + sum_d (x_d^2 - A cos(2 pi x_d)).
// Parameter: A >= 0 (ripple amplitude, 10 in the benchmark literature). Global minimum 0 at the
// origin; in 1-D the nearest local minima are at +-0.99495864 (E = 0.99495906) for A = 10.
// Basins: "global" when every |x_d| < x_b, x_b the first local maximum of the 1-D term (0.5025
// for A = 10); "other" otherwise.
// Force: -(2 x_d + 2 pi A sin(2 pi x_d)); float32 on CUDA takes the hardware sine after an exact
// reduction (lgv_sin_2pi, |error| < 6.7e-7, tested on the GPU), elsewhere sin to ~1 ulp.
// Reference: L. A. Rastrigin, Systems of Extremal Control (1974); Muhlenbein et al. (1991).
#pragma once

#include <vector>

#include "langevin/potential.hpp"

namespace langevin {

struct Rastrigin {
    static constexpr const char *name = "rastrigin";
    static constexpr const char *summary = "E = A D + sum (x^2 - A cos 2 pi x)";
    static constexpr int fixed_dim = 0;
    static constexpr bool separable = true;
    static constexpr bool product_basins = true;
    static constexpr bool same_coordinates = true;
    static constexpr double two_pi = 6.283185307179586476925;
    int dim = 1;
    double A = 10.0;
    double barrier = 0.5; ///< global cell: |x_d| < barrier

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &x) const {
        return separable_energy(*this, x);
    }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &x) const {
        Vec<T, D> f;
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            f[d] = -lgv_fma(T(two_pi * A), lgv_sin_2pi(x[d]), T(2) * x[d]);
        return f;
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int, T x) const {
        return x * x + T(A) * (T(1) - lgv_cospi(T(2) * x));
    }

    int global_basin() const { return 0; }
    LGV_HD static constexpr int basin_count() { return 2; }
    static const char *basin_name(int i) { return i == 0 ? "global" : "other"; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &x) const {
        return product_basin(*this, x);
    }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T x) const {
        const double u = double(x);
        return (u > -barrier && u < barrier) ? 0 : 1;
    }

    static std::vector<ParamSpec> params() {
        return {{"A", 10.0, false, "ripple amplitude (>= 0)"}};
    }
    static Rastrigin make(const ParamValues &values, int dim) {
        Rastrigin p;
        p.dim = dim;
        p.A = detail::scalar_param(values, "A");
        LGV_REQUIRE(p.A >= 0 && std::isfinite(p.A), "[potential] A = ", p.A,
                    ": must be a finite number >= 0");
        p.barrier = p.first_maximum();
        return p;
    }
    Range default_range(int) const { return {-5.12, 5.12}; }

    /// First x > 0 where the 1-D slope 2x + 2 pi A sin(2 pi x) turns negative (else +inf).
    double first_maximum() const {
        auto slope = [this](double x) { return 2 * x + two_pi * A * std::sin(two_pi * x); };
        for (double lo = 0.25; lo < 1.0; lo += 0.01) {
            const double hi = lo + 0.01;
            if (slope(lo) > 0 && slope(hi) <= 0) {
                double l = lo, h = hi;
                for (int i = 0; i < 100; ++i) {
                    const double mid = 0.5 * (l + h);
                    (slope(mid) > 0 ? l : h) = mid;
                }
                return 0.5 * (l + h);
            }
        }
        return HUGE_VAL; // convex: one basin
    }
};

} // namespace langevin
