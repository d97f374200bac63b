// A non-convex fit: the frequency w of y = sin(w x) to data,
//   L(w) = (1/n) sum_i (sin(w x_i) - y_i)^2 / 2.
// With x in [0, x_max] the loss has a global minimum near the true frequency and local minima
// beside it (aliases): full-batch gradient descent stays in the basin it starts in, noisy SGD can
// leave it. Basins: the intervals between the local maxima of L in [w_min, w_max], found from the
// data when it is attached (names "w=..." at their minima).
// Its Boltzmann law exp(-L/T) is normalised over [w_min, w_max] (L is bounded at infinity).
// Parameters: w_min, w_max. Data: [data] (data.hpp; synthetic: x ~ U(0, x_max)).
// Reference: least-squares frequency estimation and its many local minima: D. C. Rife &
// R. R. Boorstyn, IEEE Trans. Inf. Theory 20, 591 (1974).
#pragma once

#include "langevin/potentials/data_loss.hpp"

namespace langevin {

struct SineFit : DataLoss<SineFit> {
    static constexpr const char *name = "sine_fit";
    static constexpr const char *summary =
        "L(w) = mean (sin(w x_i) - y_i)^2 / 2 over [data]: non-convex, several minima";
    static constexpr int fixed_dim = 1;
    /// L stays bounded as |w| -> infinity: exp(-L/T) is normalised over [w_min, w_max] only.
    static constexpr bool confined = true;
    int dim = 1;
    LossBasins basins;

    template <class T, int D>
    LGV_HD LGV_INLINE T sample_loss(const Vec<T, D> &w, std::uint64_t i) const {
        const T r = lgv_sin(w[0] * T(data.x[i])) - T(data.y[i]);
        return T(0.5) * r * r;
    }
    template <class T, int D>
    LGV_HD LGV_INLINE Vec<T, D> sample_force(const Vec<T, D> &w, std::uint64_t i) const {
        const T x = T(data.x[i]), u = w[0] * x;
        Vec<T, D> f;
        f[0] = -(lgv_sin(u) - T(data.y[i])) * lgv_cos(u) * x;
        return f;
    }
    int global_basin() const { return basins.global; }
    LGV_HD int basin_count() const { return basins.count; }
    const char *basin_name(int b) const { return basins.name[b]; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &w) const {
        return basins.of(double(w[0]));
    }

    static std::vector<ParamSpec> params() {
        return {{"w_min", -1.0, false, "low end of the histogram range and of the basin scan"},
                {"w_max", 5.5, false, "high end of the histogram range and of the basin scan"}};
    }
    void attach(const DataView &view) {
        data = view;
        basins = LossBasins::scan([this](double w) { return energy(Vec<double, 1>{{w}}); }, w_min,
                                  w_max);
    }
};

} // namespace langevin
