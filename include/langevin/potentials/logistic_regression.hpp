// Logistic regression in two parameters w = (a, b): labels y_i = +-1,
//   L(w) = (1/n) sum_i log(1 + exp(-y_i (a x_i + b))),
// convex, with a single minimum unless the data are separable. Per-sample gradient
// -y sigmoid(-y z) (x, 1), z = a x + b.
// Parameters: w_min, w_max (default histogram range of a and b). Data: [data] (data.hpp).
// Reference: Bishop, Pattern Recognition and Machine Learning (2006), section 4.3.2.
#pragma once

#include "langevin/potentials/data_loss.hpp"

namespace langevin {

struct LogisticRegression : DataLoss<LogisticRegression> {
    static constexpr const char *name = "logistic_regression";
    static constexpr const char *summary =
        "L(a, b) = mean log(1 + exp(-y_i (a x_i + b))) over [data], y = +-1";
    static constexpr int fixed_dim = 2;
    static constexpr bool convex = true; // softplus is convex, and so is its mean over the data
    int dim = 2;

    /// log(1 + e^t) without overflow.
    template <class T> LGV_HD LGV_INLINE static T softplus(T t) {
        return t > T(0) ? t + lgv_log1p(lgv_exp(-t)) : lgv_log1p(lgv_exp(t));
    }
    template <class T, int D>
    LGV_HD LGV_INLINE T sample_loss(const Vec<T, D> &w, std::uint64_t i) const {
        const T y = T(data.y[i]);
        return softplus(-y * (w[0] * T(data.x[i]) + w[1]));
    }
    template <class T, int D>
    LGV_HD LGV_INLINE Vec<T, D> sample_force(const Vec<T, D> &w, std::uint64_t i) const {
        const T x = T(data.x[i]), y = T(data.y[i]);
        const T t = -y * (w[0] * x + w[1]);
        // sigmoid(t) = 1 / (1 + e^-t): where e^-t overflows to inf (t < -88.7 in float32, -709.8
        // in float64) this is 0, against a true value below 1e-38 (1e-308). No branch: its sign
        // was a coin toss per sample, and the data loop ran at the mispredictions' pace.
        const T s = T(1) / (T(1) + lgv_exp(-t));
        Vec<T, D> f;
        f[0] = y * s * x; // -(d/da) softplus(t) = -s * (-y x)
        f[1] = y * s;
        return f;
    }

    static std::vector<ParamSpec> params() {
        return {{"w_min", -2.0, false, "low end of the default histogram range of a and b"},
                {"w_max", 4.0, false, "high end of the default histogram range of a and b"}};
    }
};

} // namespace langevin
