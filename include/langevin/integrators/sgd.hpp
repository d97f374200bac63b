// Mini-batch stochastic gradient descent on a data-defined loss L(w) = (1/n) sum_i l_i(w), with
// optional Langevin noise (SGLD):
//   w_{n+1} = w_n - lr_n g_B(w_n) + sqrt(2 lr_n T_n) xi_n,   g_B = (1/B) sum_{b<B} grad l_{i_b},
// the B indices i_b drawn uniformly WITH replacement from the walker's own Philox stream
// (Purpose::minibatch, subsequence = walker id, words [n W, (n+1) W) for step n, W = B rounded
// up to 4; index = floor(word n_data / 2^32)). B = n uses the full gradient (gradient descent).
// It is Euler-Maruyama with dt = lr_n, friction 1 and the mini-batch force; near a minimum
// the mini-batch noise acts like a bath at T_eff = lr tr(C) / (2 B D) (C the per-sample gradient
// covariance there; sgd.hpp), so SGD samples roughly exp(-L / (T + T_eff)).
// Learning rate: constant lr; geometric lr (lr_final/lr)^min(n/lr_steps, 1); logarithmic
// lr ln(n0) / ln(n + n0) (Hajek-like, = c / ln(n + n0) with c = lr ln n0).
// Parameters: lr > 0, batch 1..n, lr_schedule, lr_final, lr_steps, lr_n0.
// Reference: Welling & Teh, ICML 2011 (SGLD); Mandt, Hoffman & Blei, JMLR 18 (2017).
#pragma once

#include "langevin/data.hpp"
#include "langevin/integrators/integrator.hpp"

namespace langevin {

struct Sgd {
    static constexpr const char *name = "sgd";
    static constexpr const char *summary =
        "mini-batch SGD on a data loss (+ SGLD noise at T), learning-rate schedules";
    static constexpr bool underdamped = false;
    static constexpr bool minibatch = true;
    enum LrSchedule { constant = 0, geometric = 1, logarithmic = 2 };
    double dt = 0.05;      ///< the first step's learning rate lr_0 (TOML: lr)
    double friction = 1.0; ///< fixed: SGD is EM with friction 1
    std::uint64_t batch = 1;
    int lr_schedule = constant;
    double lr_final = 1e-3;
    std::uint64_t lr_steps = 0; ///< geometric: steps from lr to lr_final
    double lr_n0 = 2.0;

    /// lr_n.
    LGV_HD LGV_INLINE double lr(std::uint64_t n) const {
        if (lr_schedule == geometric) {
            const double f =
                lr_steps > 0 && double(n) < double(lr_steps) ? double(n) / lr_steps : 1.0;
            return dt * ::pow(lr_final / dt, f);
        }
        if (lr_schedule == logarithmic)
            return dt * ::log(lr_n0) / ::log(double(n) + lr_n0);
        return dt;
    }

    template <class T> struct Coeffs { T lr, noise; };
    /// Step n's constants at temperature kT.
    template <class T> LGV_HD LGV_INLINE Coeffs<T> coefficients(double kT, std::uint64_t n) const {
        const double rate = lr(n);
        return {T(rate), T(lgv_sqrt(2.0 * kT * rate))};
    }
    template <class T> LGV_HD LGV_INLINE Coeffs<T> coefficients(double kT) const {
        return coefficients<T>(kT, 0);
    }
    // No step(): advance.hpp runs SGD through MinibatchSteps, which hands step_minibatch the
    // walker id and step index (B = n takes the full gradient there).
    /// Step n of walker `walker`: the mini-batch force from its own index stream.
    template <class Pot, class T, int D>
    LGV_HD LGV_INLINE void step_minibatch(const Pot &pot, const Coeffs<T> &c, Vec<T, D> &x,
                                          const Vec<T, D> &xi, std::uint64_t key,
                                          std::uint64_t walker, std::uint64_t n) const {
        Vec<T, D> f{};
        if constexpr (is_data_defined<Pot>) {
            const std::uint64_t n_data = pot.data.n;
            if (batch >= n_data) {
                f = pot.force(x);
            } else {
                const std::uint64_t words = (batch + 3) / 4 * 4;
                WalkerRng rng(key, walker, n * words);
                for (std::uint64_t b = 0; b < batch; b += 4) {
                    const uint4 w = rng.words();
                    const unsigned int word[4] = {w.x, w.y, w.z, w.w};
                    for (int j = 0; j < 4 && b + j < batch; ++j) {
                        const std::uint64_t i = (std::uint64_t(word[j]) * n_data) >> 32;
                        const Vec<T, D> g = pot.sample_force(x, i);
                        LGV_UNROLL
                        for (int d = 0; d < D; ++d)
                            f[d] += g[d];
                    }
                }
                LGV_UNROLL
                for (int d = 0; d < D; ++d)
                    f[d] /= T(batch);
            }
        } else {
            f = pot.force(x); // a closed-form potential has no data: its gradient is exact
        }
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            x[d] += c.lr * f[d] + c.noise * xi[d];
    }

    static std::vector<IntegratorParamSpec> params() {
        return {
            {"lr", 0.05, "learning rate lr_0 (> 0); the run's time is step * lr_0"},
            {"batch", 1, "mini-batch size B, 1..n drawn with replacement (n: full batch)", true, 1},
            {"lr_final", 1e-3, "geometric lr_schedule: the rate after lr_steps"},
            {"lr_steps", 0, "geometric lr_schedule: steps from lr to lr_final (0: the run)", true,
             0},
            {"lr_n0", 2.0, "logarithmic lr_schedule: lr_n = lr ln(n0) / ln(n + n0), n0 > 1"}};
    }
    static Sgd make(const IntegratorValues &values) {
        Sgd i;
        i.dt = detail::positive_integrator_param(values, "lr");
        const double b = detail::positive_integrator_param(values, "batch");
        LGV_REQUIRE(b == std::floor(b) && b <= 1e12, "[integrator] batch = ", b,
                    ": must be an integer >= 1");
        i.batch = std::uint64_t(b);
        const auto kind = values.find("lr_schedule");
        i.lr_schedule = kind == values.end() ? constant : int(kind->second);
        i.lr_final = detail::positive_integrator_param(values, "lr_final");
        const double steps = values.at("lr_steps");
        LGV_REQUIRE(steps >= 0 && steps == std::floor(steps) && steps <= 1e15,
                    "[integrator] lr_steps = ", steps, ": must be an integer in [0, 1e15]");
        i.lr_steps = std::uint64_t(steps);
        i.lr_n0 = values.at("lr_n0");
        LGV_REQUIRE(i.lr_n0 > 1 && std::isfinite(i.lr_n0), "[integrator] lr_n0 = ", i.lr_n0,
                    ": must be > 1 (lr_n = lr ln(n0) / ln(n + n0) needs ln(n0) > 0)");
        return i;
    }
};

/// Whether an integrator draws mini-batches (needs the walker id and step index).
template <class I, class = void> struct IsMinibatch : std::false_type {};
template <class I>
struct IsMinibatch<I, std::void_t<decltype(I::minibatch)>> : std::bool_constant<I::minibatch> {};
template <class I> constexpr bool is_minibatch = IsMinibatch<I>::value;

/// Step n's constants: integrators whose step size follows a schedule (SGD) take n as well.
template <class T, class Integ>
LGV_HD LGV_INLINE typename Integ::template Coeffs<T> step_coefficients(const Integ &integ,
                                                                       double kT, std::uint64_t n) {
    if constexpr (is_minibatch<Integ>)
        return integ.template coefficients<T>(kT, n);
    else
        return integ.template coefficients<T>(kT);
}

/// Whether step constants change from step to step for a reason other than T (a learning-rate
/// schedule): the step tables then need one entry per step.
template <class Integ> bool steps_vary(const Integ &integ) {
    if constexpr (is_minibatch<Integ>)
        return integ.lr_schedule != Integ::constant;
    else
        return false;
}

} // namespace langevin
