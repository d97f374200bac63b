// Euler-Maruyama for overdamped Langevin dynamics with friction COEFFICIENT gamma (force
// -gamma dx/dt), diffusion constant D = T/gamma:
//   dx = -(1/gamma) grad E dt + sqrt(2 T / gamma) dW
//   x_{n+1} = x_n + (dt/gamma) F(x_n) + sqrt(2 T_n dt / gamma) xi_n,   xi_n ~ N(0, I).
// Parameters: dt > 0, friction gamma > 0. Weak order 1: its stationary density carries an O(dt)
// bias (on a harmonic well the variance is T / (k (1 - k dt / (2 gamma))), exactly).
// Reference: Kloeden & Platen, Numerical Solution of SDEs (1992), ch. 9.
#pragma once

#include "langevin/integrators/integrator.hpp"

namespace langevin {

struct EulerMaruyama {
    static constexpr const char *name = "euler_maruyama";
    static constexpr const char *summary = "overdamped, weak order 1";
    static constexpr bool underdamped = false;
    double dt = 1e-3, friction = 1.0;

    template <class T> struct Coeffs { T drift, noise; };
    template <class T, int D> struct Carry {};

    template <class T> LGV_HD LGV_INLINE Coeffs<T> coefficients(double kT) const {
        return {T(dt / friction), T(lgv_sqrt(2.0 * kT * dt / friction))};
    }
    static constexpr int lookahead = 0; ///< step n uses the normals of step n
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE Carry<T, D> begin(const Pot &, const Vec<T, D> &) const {
        return {};
    }
    template <class T, int D>
    LGV_HD LGV_INLINE void prime(Carry<T, D> &, const Vec<T, D> &) const {}
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE void step(const Pot &pot, const Coeffs<T> &c, Vec<T, D> &x, Vec<T, D> &,
                                const Vec<T, D> &xi, Carry<T, D> &) const {
        const Vec<T, D> f = pot.force(x);
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            x[d] = lgv_fma(c.noise, xi[d], lgv_fma(c.drift, f[d], x[d]));
    }

    /// <(x_n - x_0)^2> per coordinate of free motion (E = 0) at constant T: exactly Einstein's
    /// 2 (T/gamma) t, t = n dt.
    double free_msd(double kT, std::uint64_t n) const {
        return 2.0 * kT * dt / friction * double(n);
    }

    static std::vector<IntegratorParamSpec> params() {
        return {{"dt", 1e-3, "time step (> 0)"},
                {"friction", 1.0, "friction coefficient gamma (> 0); D = T / gamma"}};
    }
    static EulerMaruyama make(const IntegratorValues &values) {
        EulerMaruyama i;
        i.dt = detail::positive_integrator_param(values, "dt");
        i.friction = detail::positive_integrator_param(values, "friction");
        return i;
    }
};

} // namespace langevin
