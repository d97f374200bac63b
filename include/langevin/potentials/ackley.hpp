// Ackley function in D dimensions:
//   E(x) = -a exp(-b sqrt(|x|^2 / D)) - exp(sum_d cos(c x_d) / D) + a + e,
// with a = 20, b = 0.2, c = 2 pi by default. Global minimum 0 at the origin (about 1e-6 in
// float32); f(1, 0) = 2.6375310921 in D = 2. The cone at the origin has no gradient; the force
// there is taken as 0.
// E is bounded (far away it stays within [a, a + e - 1/e]), so exp(-E/T) has no law on the
// whole space: the Boltzmann references are normalised over the histogram grid (D = 2) or the
// default range [-5, 5] (D = 1) only, a metastable law that holds while walkers stay there.
// cos(c x) and sin(c x) are taken as cos(pi k x) and sin(pi k x) with k = c / pi (exactly 2 by
// default): their reduction is exact, and on the host branch-free, so the CPU backend's lanes
// vectorise. The radial term's 1/r is taken at r = 1 where r = 0, by arithmetic rather than a
// branch; its force a b x / D is then 0 at x = 0, and negligible where |x|^2 underflows.
// Basins: "global" when every |x_d| < 1/2 (the local minima sit near the integer lattice; the
// central funnel's ridge lies a little further out, ~0.62-0.67), "other" otherwise.
// Reference: D. H. Ackley, A Connectionist Machine for Genetic Hillclimbing (1987).
#pragma once

#include <vector>

#include "langevin/potential.hpp"

namespace langevin {

struct Ackley {
    static constexpr const char *name = "ackley";
    static constexpr const char *summary = "Ackley function, many local minima";
    static constexpr int fixed_dim = 0;
    static constexpr bool separable = false;
    static constexpr bool product_basins = false;
    static constexpr bool confined = true; // see above: references over the grid only
    int dim = 1;
    double a = 20.0, b = 0.2, c = 6.283185307179586476925;

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &x) const {
        const T k = T(c / kPi);
        T r2 = T(0), cs = T(0);
        LGV_UNROLL
        for (int d = 0; d < D; ++d) {
            r2 += x[d] * x[d];
            cs += lgv_cospi(k * x[d]);
        }
        return -T(a) * lgv_exp(-T(b) * lgv_sqrt(r2 / T(D))) - lgv_exp(cs / T(D)) + T(a) +
               T(2.718281828459045235360);
    }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &x) const {
        const T k = T(c / kPi);
        T r2 = T(0), cs = T(0);
        LGV_UNROLL
        for (int d = 0; d < D; ++d) {
            r2 += x[d] * x[d];
            cs += lgv_cospi(k * x[d]);
        }
        const T r = lgv_sqrt(r2 / T(D));
        const T r_or_1 = r + (T(1) - T(r > T(0))); // see above: ?: would stay a branch
        const T radial = T(a) * T(b) * lgv_exp(-T(b) * r) / (T(D) * r_or_1);
        const T ripple = lgv_exp(cs / T(D)) * T(c) / T(D);
        Vec<T, D> f;
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            f[d] = -(radial * x[d] + ripple * lgv_sinpi(k * x[d]));
        return f;
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int, T) const { return T(0); }

    int global_basin() const { return 0; }
    LGV_HD static constexpr int basin_count() { return 2; }
    static const char *basin_name(int i) { return i == 0 ? "global" : "other"; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &x) const {
        int out = 0;
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            out |= (double(x[d]) > -0.5 && double(x[d]) < 0.5) ? 0 : 1;
        return out;
    }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T) const { return -1; }

    static std::vector<ParamSpec> params() {
        return {{"a", 20.0, false, "depth of the central funnel (> 0)"},
                {"b", 0.2, false, "funnel width (> 0)"},
                {"c", 6.283185307179586, false, "ripple wave number (> 0)"}};
    }
    static Ackley make(const ParamValues &values, int dim) {
        Ackley p;
        p.dim = dim;
        p.a = detail::scalar_param(values, "a");
        p.b = detail::scalar_param(values, "b");
        p.c = detail::scalar_param(values, "c");
        detail::require_positive("a", p.a);
        detail::require_positive("b", p.b);
        detail::require_positive("c", p.c);
        return p;
    }
    Range default_range(int) const { return {-5.0, 5.0}; }
};

} // namespace langevin
