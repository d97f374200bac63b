// Muller-Brown surface (2-D): E(x, y) = sum_{i=1..4} A_i exp[a_i (x - x0_i)^2
//   + b_i (x - x0_i)(y - y0_i) + c_i (y - y0_i)^2], with the standard constants
// A = (-200, -100, -170, 15), a = (-1, -1, -6.5, 0.7), b = (0, 0, 11, 0.6),
// c = (-10, -10, -6.5, 0.7), x0 = (1, 0, -0.5, -1), y0 = (0, 0.5, 1.5, 1). No parameters.
// Minima: A (-0.558224, 1.441726) E = -146.70 (global), B (0.623499, 0.028038) -108.17,
// C (-0.050011, 0.466694) -80.77. Stiff (largest Hessian eigenvalue ~4099): EM needs dt < 4.9e-4.
// Basins: 200 steps of capped steepest descent (h = 1e-4, moves at most 0.02 per step), then
// the nearest of the three minima. The descent stops early, with the same answer, once it is
// inside a trusted disc around a minimum (radii 0.18, 0.12, 0.09): E is convex there with
// Hessian eigenvalues in (0, 2/h), so each step x' - m = (I - s h H)(x - m), 0 < s <= 1 (m the
// exact minimum, within 1e-6 of the given one; H the Hessian averaged from m to x), is a
// contraction: the distance to m never grows, and the full descent would end nearest m too
// (tests/test_potentials.cpp checks the eigenvalues over each disc and the answers against the
// full descent).
// Reference: K. Muller & L. D. Brown, Theor. Chim. Acta 53, 75 (1979).
#pragma once

#include <vector>

#include "langevin/potential.hpp"

namespace langevin {

struct MullerBrown {
    static constexpr const char *name = "muller_brown";
    static constexpr const char *summary = "Muller-Brown 2-D surface, three minima";
    static constexpr int fixed_dim = 2;
    static constexpr bool separable = false;
    static constexpr bool product_basins = false;
    int dim = 2;
    // Members, not static arrays, so they travel with the struct into kernels.
    double A[4] = {-200.0, -100.0, -170.0, 15.0};
    double a[4] = {-1.0, -1.0, -6.5, 0.7};
    double b[4] = {0.0, 0.0, 11.0, 0.6};
    double c[4] = {-10.0, -10.0, -6.5, 0.7};
    double x0[4] = {1.0, 0.0, -0.5, -1.0};
    double y0[4] = {0.0, 0.5, 1.5, 1.0};
    double minima[3][2] = {{-0.558224, 1.441726}, {0.623499, 0.028038}, {-0.050011, 0.466694}};

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &p) const {
        T e = T(0);
        LGV_UNROLL
        for (int i = 0; i < 4; ++i) {
            const T dx = p[0] - T(x0[i]), dy = p[1] - T(y0[i]);
            e += T(A[i]) * lgv_exp(T(a[i]) * dx * dx + T(b[i]) * dx * dy + T(c[i]) * dy * dy);
        }
        return e;
    }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &p) const {
        T gx = T(0), gy = T(0);
        LGV_UNROLL
        for (int i = 0; i < 4; ++i) {
            const T dx = p[0] - T(x0[i]), dy = p[1] - T(y0[i]);
            const T w =
                T(A[i]) * lgv_exp(T(a[i]) * dx * dx + T(b[i]) * dx * dy + T(c[i]) * dy * dy);
            gx += w * (T(2) * T(a[i]) * dx + T(b[i]) * dy);
            gy += w * (T(b[i]) * dx + T(2) * T(c[i]) * dy);
        }
        Vec<T, D> f;
        f[0] = -gx;
        f[1] = -gy;
        return f;
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int, T) const { return T(0); }

    int global_basin() const { return 0; }
    LGV_HD static constexpr int basin_count() { return 3; }
    static const char *basin_name(int i) { return i == 0 ? "A (global)" : (i == 1 ? "B" : "C"); }
    /// Radii of the trusted discs around `minima` (see the header comment).
    double trusted_radius[3] = {0.18, 0.12, 0.09};

    template <class T, int D> LGV_HD int basin(const Vec<T, D> &start) const {
        return descend_to_basin(start, true);
    }
    /// basin() with (trusted = true) or without the early stop: the same answer, checked by the
    /// tests; without it every start takes all 200 steps.
    template <class T, int D>
    LGV_HD int descend_to_basin(const Vec<T, D> &start, bool trusted) const {
        Vec<double, 2> p{{double(start[0]), double(start[1])}};
        for (int steps = 0;; ++steps) {
            if (const int k = descent_end(p, steps, trusted); k >= 0)
                return k;
            descent_step(p);
        }
    }

    // The descent in parts (descends = true): the CPU backend steps many walkers' descents side
    // by side with these, basin() one walker's.
    static constexpr bool descends = true;
    /// The basin once the descent from `p` after `steps` steps is over: inside a trusted disc
    /// (trusted = true), or after 200 steps the nearest minimum; else -1.
    LGV_HD LGV_INLINE int descent_end(const Vec<double, 2> &p, int steps,
                                      bool trusted = true) const {
        if (steps < 200) {
            if (trusted)
                for (int m = 0; m < 3; ++m) {
                    const double dx = p[0] - minima[m][0], dy = p[1] - minima[m][1];
                    if (dx * dx + dy * dy < trusted_radius[m] * trusted_radius[m])
                        return m;
                }
            return -1;
        }
        int best = 0;
        double best_d2 = 1e300;
        for (int m = 0; m < 3; ++m) {
            const double dx = p[0] - minima[m][0], dy = p[1] - minima[m][1];
            const double d2 = dx * dx + dy * dy;
            if (d2 < best_d2) {
                best_d2 = d2;
                best = m;
            }
        }
        return best;
    }
    /// One step of steepest descent, h = 1e-4, moving at most 0.02: the step times
    /// 0.02 / max(len, 0.02), which is exactly 1 below the cap (no branch: the CPU backend's
    /// lanes vectorise it).
    LGV_HD LGV_INLINE void descent_step(Vec<double, 2> &p) const {
        const Vec<double, 2> f = force(p);
        const double sx = 1e-4 * f[0], sy = 1e-4 * f[1];
        const double scale = 0.02 / lgv_max(lgv_sqrt(sx * sx + sy * sy), 0.02);
        p[0] += sx * scale;
        p[1] += sy * scale;
    }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T) const { return -1; }

    static std::vector<ParamSpec> params() { return {}; }
    static MullerBrown make(const ParamValues &, int) { return MullerBrown{}; }
    Range default_range(int d) const { return d == 0 ? Range{-1.5, 1.2} : Range{-0.5, 2.0}; }
};

} // namespace langevin
