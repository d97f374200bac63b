// BAOAB splitting for underdamped Langevin dynamics with mass m and friction RATE gamma (1/time):
//   dx = v dt,  dv = -grad E / m dt - gamma v dt + sqrt(2 gamma T / m) dW.
// One step of size h, c = exp(-gamma h):
//   B: v += (h/2) F(x)/m;  A: x += (h/2) v;  O: v = c v + sqrt((1 - c^2) T/m) xi;
//   A: x += (h/2) v;       B: v += (h/2) F(x)/m.
// The force after the second A is carried into the next step (one evaluation per step); a new
// launch recomputes it from x. The two agree bitwise because no compiler contracts a*b + c on
// its own (CUDA: --fmad=false; with contraction an H200 gave different low bits at launch
// boundaries); the FMAs are explicit (lgv_fma), the same at every site.
// Parameters: dt > 0, friction gamma > 0, mass m > 0. Stationary law exp(-(E + m|v|^2/2)/T);
// configurational averages accurate to O(dt^2); on a harmonic well <x^2> = T/k exactly.
// Reference: B. Leimkuhler & C. Matthews, AMRX 2013, 34-56.
#pragma once

#include "langevin/integrators/integrator.hpp"

namespace langevin {

struct BAOAB {
    static constexpr const char *name = "baoab";
    static constexpr const char *summary = "underdamped (mass, friction rate), O(dt^2)";
    static constexpr bool underdamped = true;
    double dt = 1e-2, friction = 1.0, mass = 1.0;

    template <class T> struct Coeffs {
        T half_dt, kick, damp, noise; // h/2, h/(2m), c, sqrt((1 - c^2) T/m)
    };
    template <class T, int D> struct Carry {
        Vec<T, D> force; ///< F(x) at the current x
    };

    template <class T> LGV_HD LGV_INLINE Coeffs<T> coefficients(double kT) const {
        const double c = ::exp(-friction * dt);
        return {T(0.5 * dt), T(0.5 * dt / mass), T(c), T(lgv_sqrt((1.0 - c * c) * kT / mass))};
    }
    static constexpr int lookahead = 0; ///< step n uses the normals of step n
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE Carry<T, D> begin(const Pot &pot, const Vec<T, D> &x) const {
        return {pot.force(x)};
    }
    template <class T, int D>
    LGV_HD LGV_INLINE void prime(Carry<T, D> &, const Vec<T, D> &) const {}
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE void step(const Pot &pot, const Coeffs<T> &c, Vec<T, D> &x, Vec<T, D> &v,
                                const Vec<T, D> &xi, Carry<T, D> &carry) const {
        LGV_UNROLL
        for (int d = 0; d < D; ++d) {
            v[d] = lgv_fma(c.kick, carry.force[d], v[d]);
            x[d] = lgv_fma(c.half_dt, v[d], x[d]);
            v[d] = lgv_fma(c.damp, v[d], c.noise * xi[d]);
            x[d] = lgv_fma(c.half_dt, v[d], x[d]);
        }
        carry.force = pot.force(x);
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            v[d] = lgv_fma(c.kick, carry.force[d], v[d]);
    }

    /// <(x_n - x_0)^2> per coordinate of free motion (E = 0) at constant T from Maxwell
    /// velocities, exactly: x_n - x_0 = h (v_0/2 + v_1 + ... + v_{n-1} + v_n/2) with v the
    /// stationary AR(1), <v_i v_j> = (T/m) c^|i-j|, c = exp(-gamma h). Summing by lag,
    ///   msd = h^2 (T/m) [n - 1/2 + c^n/2 + 2 f],  f = sum_{k=1}^{n-1} (n - k) c^k
    ///       = c (n (1 - c) - (1 - c^n)) / (1 - c)^2,
    /// which tends to Einstein's 2 T/(m gamma) (t - (1 - e^{-gamma t})/gamma) as h -> 0. While
    /// gamma t < 1e-6 the closed form would cancel, and f's Taylor series in gamma h (to first
    /// order; the next is (gamma t)^2/12 relative) is used instead.
    double free_msd(double kT, std::uint64_t n) const {
        if (n == 0)
            return 0.0;
        const double a = friction * dt, steps = double(n), c = ::exp(-a);
        const double f =
            steps * a < 1e-6
                ? steps * (steps - 1) / 2 - a * steps * (steps * steps - 1) / 6
                : c * (steps * -::expm1(-a) + ::expm1(-steps * a)) / (::expm1(-a) * ::expm1(-a));
        return dt * dt * kT / mass * (steps - 0.5 + 0.5 * ::exp(-steps * a) + 2 * f);
    }

    static std::vector<IntegratorParamSpec> params() {
        return {{"dt", 1e-2, "time step (> 0); stable on a harmonic well iff omega dt < 2"},
                {"friction", 1.0, "friction rate gamma (> 0, 1/time)"},
                {"mass", 1.0, "particle mass (> 0)"}};
    }
    static BAOAB make(const IntegratorValues &values) {
        BAOAB i;
        i.dt = detail::positive_integrator_param(values, "dt");
        i.friction = detail::positive_integrator_param(values, "friction");
        i.mass = detail::positive_integrator_param(values, "mass");
        return i;
    }
};

} // namespace langevin
