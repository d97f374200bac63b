// Histogram distances and the chi^2 tail (Boost.Math's regularised incomplete gamma).
#include "langevin/stats.hpp"

#include <cmath>
#include <limits>

#include <boost/math/special_functions/gamma.hpp>

namespace langevin {

double chi2_survival(double x, int dof) {
    if (dof <= 0)
        return std::numeric_limits<double>::quiet_NaN();
    if (x <= 0)
        return 1.0;
    return boost::math::gamma_q(0.5 * dof, 0.5 * x);
}

Comparison compare_histogram(const std::vector<std::uint64_t> &counts,
                             const std::vector<double> &reference) {
    Comparison c;
    if (reference.empty() || reference.size() != counts.size())
        return c;
    double n = 0;
    for (auto k : counts)
        n += double(k);
    if (n <= 0)
        return c;
    c.available = true;
    double kl = 0, tv = 0;
    for (std::size_t b = 0; b < counts.size(); ++b) {
        const double p = double(counts[b]) / n;
        const double q = std::max(reference[b], std::numeric_limits<double>::min());
        if (p > 0)
            kl += p * std::log(p / q);
        tv += std::fabs(p - reference[b]);
    }
    c.kl = kl;
    c.tv = 0.5 * tv;
    // Pearson chi^2 over groups of adjacent bins with expected count >= 5; a short last group
    // joins the one before it.
    std::vector<double> observed, expected;
    double o = 0, e = 0;
    for (std::size_t b = 0; b < counts.size(); ++b) {
        o += double(counts[b]);
        e += n * reference[b];
        if (e >= 5.0) {
            observed.push_back(o);
            expected.push_back(e);
            o = e = 0;
        }
    }
    if (e > 0 || o > 0) {
        if (expected.empty()) {
            observed.push_back(o);
            expected.push_back(e);
        } else {
            observed.back() += o;
            expected.back() += e;
        }
    }
    double chi2 = 0;
    for (std::size_t g = 0; g < observed.size(); ++g) {
        const double diff = observed[g] - expected[g];
        chi2 += expected[g] > 0 ? diff * diff / expected[g]
                                : (observed[g] > 0 ? std::numeric_limits<double>::infinity() : 0);
    }
    c.chi2 = chi2;
    c.chi2_dof = int(observed.size()) - 1;
    c.chi2_p =
        c.chi2_dof > 0 ? chi2_survival(chi2, c.chi2_dof) : std::numeric_limits<double>::quiet_NaN();
    return c;
}

} // namespace langevin
