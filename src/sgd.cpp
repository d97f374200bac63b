// SGD theory (see include/langevin/sgd.hpp).
#include "langevin/sgd.hpp"

#include <cmath>
#include <limits>
#include <string>

namespace langevin {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Golden-section minimum of f in [a, b].
template <class F> double golden(F &&f, double a, double b) {
    const double g = 0.5 * (std::sqrt(5.0) - 1);
    double c = b - g * (b - a), d = a + g * (b - a);
    for (int k = 0; k < 200 && b - a > 1e-14 * (1 + std::fabs(a)); ++k) {
        if (f(c) < f(d))
            b = d;
        else
            a = c;
        c = b - g * (b - a);
        d = a + g * (b - a);
    }
    return 0.5 * (a + b);
}

} // namespace

Moments1 linear_sgd_moments(const DataView &data, std::uint64_t batch, double lr, double T,
                            double w0, std::uint64_t steps) {
    const double n = double(data.n);
    double mu_u = 0, mu_z = 0;
    for (std::uint64_t i = 0; i < data.n; ++i) {
        mu_u += data.x[i] * data.x[i];
        mu_z += data.x[i] * data.y[i];
    }
    mu_u /= n;
    mu_z /= n;
    double var_u = 0, var_z = 0, cov = 0;
    for (std::uint64_t i = 0; i < data.n; ++i) {
        const double du = data.x[i] * data.x[i] - mu_u, dz = data.x[i] * data.y[i] - mu_z;
        var_u += du * du;
        var_z += dz * dz;
        cov += du * dz;
    }
    var_u /= n;
    var_z /= n;
    cov /= n;
    const double inv_b = batch >= data.n ? 0.0 : 1.0 / double(batch);
    const double ea = 1 - lr * mu_u, ea2 = ea * ea + lr * lr * var_u * inv_b;
    const double ec = lr * mu_z, ec2 = lr * lr * (mu_z * mu_z + var_z * inv_b);
    const double eac = lr * mu_z - lr * lr * (mu_u * mu_z + cov * inv_b);
    if (steps == ~std::uint64_t(0)) {
        if (!(ea2 < 1))
            return {kNaN, kNaN};
        const double m = ec / (1 - ea);
        // Var w = (lr^2 / B Var_i(x_i^2 m - x_i y_i) + 2 lr T) / (1 - E[A^2]): the recursion's
        // fixed point with m^2 taken out by hand, a sum of squares, so never negative (full
        // batch without noise: exactly 0, where s - m^2 left rounding of either sign).
        double spread = 0;
        for (std::uint64_t i = 0; i < data.n; ++i) {
            const double r = (data.x[i] * data.x[i] - mu_u) * m - (data.x[i] * data.y[i] - mu_z);
            spread += r * r;
        }
        return {m, (lr * lr * (spread / n) * inv_b + 2 * lr * T) / (1 - ea2)};
    }
    double m = w0, s = w0 * w0;
    for (std::uint64_t k = 0; k < steps; ++k) {
        const double s_next = ea2 * s + 2 * eac * m + ec2 + 2 * lr * T;
        m = ea * m + ec;
        s = s_next;
    }
    return {m, s - m * m};
}

std::string describe_sgd(const Sgd &sgd, const SgdTheory &theory, const std::string &temperature) {
    std::string lr = detail::concat("lr = ", sgd.dt);
    if (sgd.lr_schedule == Sgd::geometric)
        lr += detail::concat(" -> ", sgd.lr_final, " geometric over ", sgd.lr_steps, " steps");
    else if (sgd.lr_schedule == Sgd::logarithmic)
        lr += detail::concat(" ln(", sgd.lr_n0, ") / ln(n + ", sgd.lr_n0, ")");
    else
        lr += " constant";
    const std::string batch = theory.full_batch
                                  ? detail::concat("full batch (GD, n = ", theory.n, ")")
                                  : detail::concat("B = ", sgd.batch, " of n = ", theory.n);
    return detail::concat("SGD ", batch, ", ", lr, ", SGLD ", temperature);
}

SgdTheory sgd_theory(const Model &model, const Grid &grid, double T) {
    SgdTheory th;
    th.exact_mean = th.exact_var = kNaN;
    const Sgd *sgd = std::get_if<Sgd>(&model.integrator);
    if (!sgd)
        return th;
    std::visit(
        [&](const auto &pot) {
            using Pot = std::decay_t<decltype(pot)>;
            if constexpr (is_data_defined<Pot> && (Pot::fixed_dim == 1 || Pot::fixed_dim == 2)) {
                constexpr int D = Pot::fixed_dim;
                th.active = true;
                th.batch = sgd->batch;
                th.n = pot.data.n;
                th.full_batch = sgd->batch >= pot.data.n;
                auto loss = [&](const Vec<double, D> &w) { return pot.energy(w); };
                Vec<double, D> w{};
                if constexpr (D == 1) {
                    const Axis &a = grid.axes[0];
                    const int m = 4001;
                    double best = HUGE_VAL, arg = a.lo;
                    for (int k = 0; k < m; ++k) {
                        const double x = a.lo + (a.hi - a.lo) * k / (m - 1);
                        const double e = loss(Vec<double, 1>{{x}});
                        if (e < best)
                            best = e, arg = x;
                    }
                    const double h = (a.hi - a.lo) / (m - 1);
                    w[0] = golden([&](double x) { return loss(Vec<double, 1>{{x}}); }, arg - h,
                                  arg + h);
                    // Golden section stops at ~sqrt(eps); Newton on the force goes to eps. A
                    // loss on the whole line may have its minimum outside the range: Newton
                    // follows it there (a confined one stays in the basin found).
                    for (int it = 0; it < 100; ++it) {
                        const double step = 1e-5 * (1 + std::fabs(w[0]));
                        const double f = pot.force(w)[0];
                        const double hess = -(pot.force(Vec<double, 1>{{w[0] + step}})[0] -
                                              pot.force(Vec<double, 1>{{w[0] - step}})[0]) /
                                            (2 * step);
                        if (!(hess > 0))
                            break;
                        double move = f / hess;
                        if (is_confined<Pot> && !(std::fabs(move) < h))
                            break;
                        Vec<double, 1> next{{w[0] + move}};
                        for (int half = 0; half < 40 && !(loss(next) <= loss(w)); ++half)
                            next[0] = w[0] + (move *= 0.5);
                        if (!(loss(next) <= loss(w)) || next[0] == w[0])
                            break;
                        w = next;
                    }
                } else {
                    const Axis &a = grid.axes[0], &b = grid.axes[1];
                    const int m = 201;
                    double best = HUGE_VAL;
                    for (int i = 0; i < m; ++i)
                        for (int j = 0; j < m; ++j) {
                            const Vec<double, 2> p{{a.lo + (a.hi - a.lo) * i / (m - 1),
                                                    b.lo + (b.hi - b.lo) * j / (m - 1)}};
                            const double e = loss(p);
                            if (e < best)
                                best = e, w = p;
                        }
                    // Newton steps with the Hessian by central differences of the force.
                    for (int it = 0; it < 50; ++it) {
                        const Vec<double, 2> f = pot.force(w);
                        double H[2][2];
                        for (int c = 0; c < 2; ++c) {
                            const double hstep = 1e-5 * (1 + std::fabs(w[c]));
                            Vec<double, 2> up = w, down = w;
                            up[c] += hstep;
                            down[c] -= hstep;
                            const Vec<double, 2> fu = pot.force(up), fd = pot.force(down);
                            for (int r = 0; r < 2; ++r)
                                H[r][c] = -(fu[r] - fd[r]) / (2 * hstep);
                        }
                        const double det = H[0][0] * H[1][1] - H[0][1] * H[1][0];
                        if (!(std::fabs(det) > 0))
                            break;
                        // w += H^-1 f (f = -grad)
                        const double d0 = (H[1][1] * f[0] - H[0][1] * f[1]) / det;
                        const double d1 = (-H[1][0] * f[0] + H[0][0] * f[1]) / det;
                        w[0] += d0;
                        w[1] += d1;
                        if (std::fabs(d0) + std::fabs(d1) < 1e-13)
                            break;
                    }
                }
                // A minimum has no gradient: anything else (a range edge, separable logistic
                // data) would give a meaningless T_eff.
                {
                    double typical = 0;
                    for (std::uint64_t i = 0; i < pot.data.n; ++i) {
                        const Vec<double, D> g = pot.sample_force(w, i);
                        for (int d = 0; d < D; ++d)
                            typical += g[d] * g[d];
                    }
                    typical = std::sqrt(typical / double(pot.data.n));
                    const Vec<double, D> f = pot.force(w);
                    double norm = 0;
                    for (int d = 0; d < D; ++d)
                        norm += f[d] * f[d];
                    norm = std::sqrt(norm);
                    std::string where;
                    bool near = true; // within the range widened by 3 widths on each side
                    for (int d = 0; d < D; ++d) {
                        where += detail::concat(d ? ", " : "", w[d]);
                        const Axis &ax = grid.axes[d];
                        const double width = ax.hi - ax.lo;
                        near = near && w[d] > ax.lo - 3 * width && w[d] < ax.hi + 3 * width;
                    }
                    const bool minimum = std::isfinite(norm) && norm <= 1e-6 * (1 + typical);
                    const char *hint = std::string(Pot::name) == "logistic_regression"
                                           ? "; a logistic loss on separable data has no "
                                             "minimum (its gradient only vanishes far out)"
                                           : "";
                    LGV_REQUIRE(!minimum || near, "sgd: the loss's gradient vanishes at w = (",
                                where,
                                "), more than 3 range widths outside the histogram range: "
                                "widen [histogram] range (or [potential] w_min / w_max) to "
                                "contain it",
                                hint);
                    LGV_REQUIRE(minimum,
                                "sgd: cannot locate the minimum w* of the loss in the "
                                "histogram range or within 3 range widths of it (the search ended "
                                "at w = (",
                                where, "), gradient ", norm,
                                "): widen [histogram] range (or [potential] w_min / w_max) to "
                                "contain it",
                                hint);
                }
                for (int d = 0; d < D; ++d)
                    th.w_star.push_back(w[d]);
                th.loss_star = loss(w);
                // tr C: the per-sample gradient covariance at w*.
                Vec<double, D> mean{};
                double second = 0;
                for (std::uint64_t i = 0; i < pot.data.n; ++i) {
                    const Vec<double, D> g = pot.sample_force(w, i);
                    for (int d = 0; d < D; ++d) {
                        mean[d] += g[d];
                        second += g[d] * g[d];
                    }
                }
                double trace = second / double(pot.data.n);
                for (int d = 0; d < D; ++d)
                    trace -= (mean[d] / double(pot.data.n)) * (mean[d] / double(pot.data.n));
                th.gradient_variance = trace;
                th.t_eff_per_lr = th.full_batch ? 0.0 : trace / (2.0 * double(sgd->batch) * D);
                if constexpr (std::is_same_v<Pot, LinearRegression>) {
                    if (sgd->lr_schedule == Sgd::constant) {
                        const Moments1 m = linear_sgd_moments(pot.data, sgd->batch, sgd->dt, T, 0.0,
                                                              ~std::uint64_t(0));
                        th.exact_mean = m.mean;
                        th.exact_var = m.var;
                    }
                }
            }
        },
        model.potential);
    return th;
}

} // namespace langevin
