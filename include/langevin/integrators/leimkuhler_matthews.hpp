// Leimkuhler-Matthews scheme for overdamped Langevin dynamics (friction coefficient gamma):
//   x_{n+1} = x_n + (dt/gamma) F(x_n) + sqrt(T_n dt / (2 gamma)) (xi_n + xi_{n+1}).
// xi_{n+1} is step n+1's own draw: with counter-based streams it is regenerated, not stored, so
// each step draws one block of D normals. Parameters: dt > 0, friction gamma > 0. Its stationary
// density is accurate to O(dt^2); on a harmonic well the variance is exactly T/k for every
// stable dt.
// Reference: B. Leimkuhler & C. Matthews, AMRX 2013, 34-56; Leimkuhler, Matthews & Stoltz,
// IMA J. Numer. Anal. 36, 13 (2016).
#pragma once

#include "langevin/integrators/integrator.hpp"

namespace langevin {

struct LeimkuhlerMatthews {
    static constexpr const char *name = "leimkuhler_matthews";
    static constexpr const char *summary = "overdamped, O(dt^2) stationary density";
    static constexpr bool underdamped = false;
    double dt = 1e-3, friction = 1.0;

    template <class T> struct Coeffs { T drift, noise; };
    template <class T, int D> struct Carry {
        Vec<T, D> xi; ///< xi_n, drawn by the previous step (or by begin)
    };

    template <class T> LGV_HD LGV_INLINE Coeffs<T> coefficients(double kT) const {
        return {T(dt / friction), T(lgv_sqrt(0.5 * kT * dt / friction))};
    }
    static constexpr int lookahead = 1; ///< step n also uses the normals of step n + 1
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE Carry<T, D> begin(const Pot &, const Vec<T, D> &) const {
        return {};
    }
    /// Receives xi_first, the normals of the first step, before that step.
    template <class T, int D>
    LGV_HD LGV_INLINE void prime(Carry<T, D> &carry, const Vec<T, D> &xi) const {
        carry.xi = xi;
    }
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE void step(const Pot &pot, const Coeffs<T> &c, Vec<T, D> &x, Vec<T, D> &,
                                const Vec<T, D> &next, Carry<T, D> &carry) const {
        const Vec<T, D> f = pot.force(x);
        LGV_UNROLL
        for (int d = 0; d < D; ++d) {
            x[d] = lgv_fma(c.noise, carry.xi[d] + next[d], lgv_fma(c.drift, f[d], x[d]));
            carry.xi[d] = next[d];
        }
    }

    /// <(x_n - x_0)^2> per coordinate of free motion (E = 0) at constant T, exactly: the noise
    /// sum xi_0 + 2 xi_1 + ... + 2 xi_{n-1} + xi_n gives 2 (T/gamma) (t - dt/2), t = n dt >= dt.
    double free_msd(double kT, std::uint64_t n) const {
        return n == 0 ? 0.0 : 2.0 * kT * dt / friction * (double(n) - 0.5);
    }

    static std::vector<IntegratorParamSpec> params() {
        return {{"dt", 1e-3, "time step (> 0)"},
                {"friction", 1.0, "friction coefficient gamma (> 0); D = T / gamma"}};
    }
    static LeimkuhlerMatthews make(const IntegratorValues &values) {
        LeimkuhlerMatthews i;
        i.dt = detail::positive_integrator_param(values, "dt");
        i.friction = detail::positive_integrator_param(values, "friction");
        return i;
    }
};

} // namespace langevin
