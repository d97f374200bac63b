// Distances between a histogram and reference bin probabilities (host only).
#pragma once

#include <cstdint>
#include <vector>

#include "langevin/study.hpp"

namespace langevin {

/// KL(empirical || reference), total variation and Pearson's chi^2 with its p-value. Both are
/// normalised over the bins given; chi^2 merges adjacent bins until each expected count is >= 5.
Comparison compare_histogram(const std::vector<std::uint64_t> &counts,
                             const std::vector<double> &reference);

/// Upper tail P(X >= x) of a chi^2 distribution with `dof` degrees of freedom.
double chi2_survival(double x, int dof);

} // namespace langevin
