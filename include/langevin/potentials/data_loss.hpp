// What the data-defined losses share: the mean over the data of a per-sample loss and its
// gradient, and, for the non-convex ones, basins found from the data.
//
// A data-defined potential P provides sample_loss<T, D>(w, i) and sample_force<T, D>(w, i)
// (= -grad of the loss of pair i); this header turns them into energy = L(w) = (1/n) sum_i and
// force = -grad L, and into the mini-batch force used by SGD.
#pragma once

#include <cstdio>

#include "langevin/data.hpp"
#include "langevin/potential.hpp"

namespace langevin {

/// L(w) = (1/n) sum_i loss_i(w), summed in T.
template <class Pot, class T, int D>
LGV_HD LGV_INLINE T mean_loss(const Pot &pot, const Vec<T, D> &w) {
    T sum = T(0);
    for (std::uint64_t i = 0; i < pot.data.n; ++i)
        sum += pot.sample_loss(w, i);
    return sum / T(pot.data.n);
}

/// -grad L(w) = (1/n) sum_i sample_force_i(w).
template <class Pot, class T, int D>
LGV_HD LGV_INLINE Vec<T, D> mean_force(const Pot &pot, const Vec<T, D> &w) {
    Vec<T, D> f{};
    for (std::uint64_t i = 0; i < pot.data.n; ++i) {
        const Vec<T, D> g = pot.sample_force(w, i);
        LGV_UNROLL
        for (int d = 0; d < D; ++d)
            f[d] += g[d];
    }
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        f[d] /= T(pot.data.n);
    return f;
}

/// Up to kMaxLossBasins basins of a 1-D loss: the intervals between its local maxima in
/// [lo, hi], found on the host from the data. Beyond [lo, hi] the loss has other minima that
/// were not scanned: a point there is in none of these basins.
constexpr int kMaxLossBasins = 8;
struct LossBasins {
    int count = 0;                     ///< 0: the loss has a single minimum in range
    double lo = 0, hi = 0;             ///< the scanned range
    double edge[kMaxLossBasins - 1]{}; ///< local maxima, increasing
    double minimum[kMaxLossBasins]{};  ///< the lowest point of each basin (scan resolution)
    int global = -1;
    char name[kMaxLossBasins][24]{}; ///< "w=1.99" at the basin's minimum

    /// The basin holding w, or -1 (no basins, w outside [lo, hi], or NaN).
    LGV_HD LGV_INLINE int of(double w) const {
        if (count == 0 || !(w >= lo && w <= hi))
            return -1;
        int b = 0;
        while (b < count - 1 && w > edge[b])
            ++b;
        return b;
    }

    /// Scans loss(w) on a 4001-point grid of [lo, hi].
    template <class F> static LossBasins scan(F &&loss, double lo, double hi) {
        constexpr int m = 4001;
        std::vector<double> w(m), e(m);
        for (int k = 0; k < m; ++k) {
            w[k] = lo + (hi - lo) * k / (m - 1);
            e[k] = loss(w[k]);
        }
        LossBasins b;
        b.lo = lo;
        b.hi = hi;
        std::vector<int> maxima;
        for (int k = 1; k + 1 < m; ++k)
            if (e[k] > e[k - 1] && e[k] >= e[k + 1])
                maxima.push_back(k);
        if (maxima.empty() || int(maxima.size()) > kMaxLossBasins - 1)
            return b; // one basin (or too many to name: none)
        b.count = int(maxima.size()) + 1;
        double best = HUGE_VAL;
        for (int j = 0; j < b.count; ++j) {
            const int from = j == 0 ? 0 : maxima[j - 1], to = j + 1 == b.count ? m - 1 : maxima[j];
            if (j + 1 < b.count)
                b.edge[j] = w[maxima[j]];
            int arg = from;
            for (int k = from; k <= to; ++k)
                if (e[k] < e[arg])
                    arg = k;
            b.minimum[j] = w[arg];
            std::snprintf(b.name[j], sizeof b.name[j], "w=%.3g", w[arg]);
            if (e[arg] < best) {
                best = e[arg];
                b.global = j;
            }
        }
        return b;
    }
};

/// What the data-defined losses share (CRTP): Derived provides name, fixed_dim, dim and
/// sample_loss / sample_force; this base turns them into the potential contract, with no basins
/// (SineFit adds its own), the range [w_min, w_max] and make() from those two parameters.
template <class Derived> struct DataLoss {
    static constexpr bool separable = false;
    static constexpr bool product_basins = false;
    static constexpr bool data_defined = true;
    DataView data;
    double w_min = 0, w_max = 1;

    template <class T, int D> LGV_HD LGV_INLINE T energy(const Vec<T, D> &w) const {
        return mean_loss(self(), w);
    }
    template <class T, int D> LGV_HD LGV_INLINE Vec<T, D> force(const Vec<T, D> &w) const {
        return mean_force(self(), w);
    }
    template <class T> LGV_HD LGV_INLINE T coord_energy(int, T) const { return T(0); }
    int global_basin() const { return -1; }
    LGV_HD int basin_count() const { return 0; }
    const char *basin_name(int) const { return ""; }
    template <class T, int D> LGV_HD LGV_INLINE int basin(const Vec<T, D> &) const { return -1; }
    template <class T> LGV_HD LGV_INLINE int coord_basin(int, T) const { return -1; }
    void attach(const DataView &view) { data = view; }
    Range default_range(int) const { return {w_min, w_max}; }

    /// From the parameters w_min < w_max, with the model's default synthetic data attached.
    static Derived make(const ParamValues &values, int) {
        Derived p;
        p.w_min = detail::scalar_param(values, "w_min");
        p.w_max = detail::scalar_param(values, "w_max");
        detail::require_finite("w_min", p.w_min);
        detail::require_finite("w_max", p.w_max);
        LGV_REQUIRE(p.w_min < p.w_max, "[potential] w_min = ", p.w_min,
                    " must be < w_max = ", p.w_max);
        p.attach(default_dataset(Derived::name)->view());
        return p;
    }

private:
    LGV_HD LGV_INLINE const Derived &self() const { return static_cast<const Derived &>(*this); }
};

} // namespace langevin
