// Tilted double well (1-D): E(x) = a (x^2 - b^2)^2 + tilt x.
// Parameters: a > 0 (height scale), b > 0 (well positions +-b when untilted), tilt (a linear
// bias; tilt > 0 makes the left well the global minimum). Barrier height a b^4 when untilted.
// Basins: "left" / "right" of the barrier top x_b (the middle root of E'(x) = 0); when the tilt
// is so large that there is one minimum, x_b is taken as 0 and the minimum's side holds it
// ("left" for tilt > 0, "right" for tilt < 0, the global basin either way).
// Reference: Kramers, Physica 7, 284 (1940); Hanggi, Talkner & Borkovec, RMP 62, 251 (1990).
#pragma once

#include <vector>

#include "langevin/potential.hpp"

namespace langevin {

struct DoubleWell {
    static constexpr const char *name = "double_well";
    static constexpr const char *summary = "E = a (x^2 - b^2)^2 + tilt x (1-D)";
    static constexpr int fixed_dim = 1;
    static constexpr bool separable = true;
    static constexpr bool product_basins = false;
    int dim = 1;
    double a = 1.0, b = 1.0, tilt = 0.0;
    double barrier = 0.0; ///< x_b: left basin is x < x_b

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &x) const {
        return coord_energy(0, x[0]);
    }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &x) const {
        const T u = x[0];
        Vec<T, D> f;
        f[0] = -lgv_fma(T(4 * a) * u, lgv_fma(u, u, -T(b * b)), T(tilt));
        return f;
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int, T x) const {
        const T s = x * x - T(b) * T(b);
        return T(a) * s * s + T(tilt) * x;
    }

    /// The basin holding the global minimum (left when tilt >= 0).
    int global_basin() const { return tilt >= 0 ? 0 : 1; }
    LGV_HD static constexpr int basin_count() { return 2; }
    static const char *basin_name(int i) { return i == 0 ? "left" : "right"; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &x) const {
        return coord_basin(0, x[0]);
    }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T x) const {
        return double(x) < barrier ? 0 : 1;
    }

    static std::vector<ParamSpec> params() {
        return {{"a", 1.0, false, "height scale (> 0)"},
                {"b", 1.0, false, "well half-separation (> 0)"},
                {"tilt", 0.0, false, "linear tilt; > 0 makes the left well global"}};
    }
    static DoubleWell make(const ParamValues &values, int) {
        DoubleWell p;
        p.a = detail::scalar_param(values, "a");
        p.b = detail::scalar_param(values, "b");
        p.tilt = detail::scalar_param(values, "tilt");
        detail::require_positive("a", p.a);
        detail::require_positive("b", p.b);
        detail::require_finite("tilt", p.tilt);
        p.barrier = p.barrier_top();
        return p;
    }
    Range default_range(int) const { return {-2.0 * b, 2.0 * b}; }

    /// Middle root of E'(x) = 4a x (x^2 - b^2) + tilt on [-b/sqrt3, b/sqrt3], where E' falls.
    double barrier_top() const {
        const double edge = b / std::sqrt(3.0);
        auto slope = [this](double x) { return 4 * a * x * (x * x - b * b) + tilt; };
        if (slope(-edge) <= 0 || slope(edge) >= 0)
            return 0.0; // one minimum: no barrier
        double lo = -edge, hi = edge;
        for (int i = 0; i < 200; ++i) {
            const double mid = 0.5 * (lo + hi);
            (slope(mid) > 0 ? lo : hi) = mid;
        }
        return 0.5 * (lo + hi);
    }
};

} // namespace langevin
