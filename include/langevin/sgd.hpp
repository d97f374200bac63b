// SGD theory on the host: the minimum of a data-defined loss, the per-sample gradient covariance
// there, the effective temperature of constant-rate SGD, and the exact discrete-time moments of
// SGD on 1-D linear regression.
//
// Effective temperature. Near the minimum w*, the mini-batch gradient is grad L + noise with
// covariance C / B (C the per-sample gradient covariance at w*, indices drawn with replacement),
// so one step adds lr^2 C / B of variance; a Langevin step at temperature T adds 2 lr T. Matching
// the trace (equivalently <L - L*> = D T / 2 near the minimum):
//   T_eff = lr tr(C) / (2 B D)     (1-D: lr sigma^2 / (2B)),   T_eff = 0 for B = n,
// and SGD with SGLD noise at T is compared with exp(-L / (T + T_eff)). It is an approximation
// (exact only to first order in lr, and C is taken at w*).
//
// Linear regression l_i = (x_i w - y_i)^2 / 2, constant lr, with replacement: with u = x^2,
// z = x y, a_B and b_B the batch means of u and z,
//   w' = A w + C + sqrt(2 lr T) xi,   A = 1 - lr a_B,  C = lr b_B,
// independent across steps, so m' = E[A] m + E[C] and s' = E[A^2] s + 2 E[AC] m + E[C^2] +
// 2 lr T exactly (s = E[w^2]), with E[A] = 1 - lr mu_u, E[A^2] = E[A]^2 + lr^2 var_u / B,
// E[C] = lr mu_z, E[C^2] = lr^2 (mu_z^2 + var_z / B), E[AC] = lr mu_z - lr^2 (mu_u mu_z +
// cov_uz / B) (population moments over the n pairs; 1/B -> 0 for B = n).
// Reference: Mandt, Hoffman & Blei, JMLR 18 (2017); Kesten, Acta Math. 131 (1973) (random
// coefficient AR(1)).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "langevin/grid.hpp"
#include "langevin/model.hpp"

namespace langevin {

struct SgdTheory {
    bool active = false;     ///< the integrator is sgd
    bool full_batch = false; ///< B = n
    std::uint64_t batch = 0, n = 0;
    std::vector<double> w_star;   ///< the global minimum of L in the histogram range
    double loss_star = 0;         ///< L(w*)
    double gradient_variance = 0; ///< tr C at w*
    double t_eff_per_lr = 0;      ///< tr C / (2 B D): T_eff = lr * this (0 for B = n)
    /// Linear regression with constant lr and T: the exact stationary mean and variance of w
    /// (NaN otherwise, or when the recursion is unstable: E[A^2] >= 1).
    double exact_mean, exact_var;
};

/// The theory for a model whose integrator is sgd (inactive otherwise); w* is searched over the
/// grid's range (1-D: a 4001-point scan refined by golden section; 2-D: a 201 x 201 scan refined
/// by Newton steps).
SgdTheory sgd_theory(const Model &model, const Grid &grid, double T);

/// Exact mean and variance of constant-rate SGD (+ SGLD at T) on 1-D linear regression after
/// `steps` steps from w0 (steps = ~0: stationary), batch B with replacement (B >= n: full).
struct Moments1 {
    double mean, var;
};
Moments1 linear_sgd_moments(const DataView &data, std::uint64_t batch, double lr, double T,
                            double w0, std::uint64_t steps);

/// One line for reports and plot legends, e.g. "SGD B = 8 of n = 1000, lr = 0.05 constant,
/// SGLD T = 0" (the schedule line of an SGD study).
std::string describe_sgd(const Sgd &sgd, const SgdTheory &theory, const std::string &temperature);

} // namespace langevin
