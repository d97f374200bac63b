// Least squares in one parameter: L(w) = (1/n) sum_i (w x_i - y_i)^2 / 2 over a data set.
// The exactly solvable SGD case: with mini-batches drawn with replacement, constant-rate SGD is a
// random-coefficient AR(1) whose mean and variance follow exact recursions (include/langevin/
// sgd.hpp). Minimum w* = sum x_i y_i / sum x_i^2; Hessian (1/n) sum x_i^2.
// Parameters: w_min, w_max (the histogram's default range). Data: [data] (data.hpp).
// Reference: Mandt, Hoffman & Blei, JMLR 18, 1 (2017), section 3 (SGD as an OU process).
#pragma once

#include "langevin/potentials/data_loss.hpp"

namespace langevin {

struct LinearRegression : DataLoss<LinearRegression> {
    static constexpr const char *name = "linear_regression";
    static constexpr const char *summary =
        "L(w) = mean (w x_i - y_i)^2 / 2 over [data] (SGD: exactly solvable)";
    static constexpr int fixed_dim = 1;
    int dim = 1;

    template <class T, int D>
    LGV_HD LGV_INLINE T sample_loss(const Vec<T, D> &w, std::uint64_t i) const {
        const T r = T(data.x[i]) * w[0] - T(data.y[i]);
        return T(0.5) * r * r;
    }
    template <class T, int D>
    LGV_HD LGV_INLINE Vec<T, D> sample_force(const Vec<T, D> &w, std::uint64_t i) const {
        const T x = T(data.x[i]);
        Vec<T, D> f;
        f[0] = -(x * w[0] - T(data.y[i])) * x;
        return f;
    }

    static std::vector<ParamSpec> params() {
        return {{"w_min", -1.0, false, "low end of the default histogram range of w"},
                {"w_max", 3.0, false, "high end of the default histogram range of w"}};
    }
};

} // namespace langevin
