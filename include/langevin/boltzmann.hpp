// Boltzmann references p(x) ∝ exp(-E(x)/T) by Gauss-Legendre quadrature (host only).
#pragma once

#include <vector>

#include "langevin/grid.hpp"
#include "langevin/model.hpp"

namespace langevin {

/// Probability of each bin of axis d, normalised over the axis range, for the marginal of
/// coordinate d. Available when D = 1 or the potential is separable; empty otherwise or at T <= 0.
std::vector<double> boltzmann_marginal(const Model &model, int d, const Axis &axis, double kT);

/// Probability of each joint bin (row-major, axis 0 outer) normalised over the grid, D = 2 only.
std::vector<double> boltzmann_joint(const Model &model, const Axis &a0, const Axis &a1, double kT);

/// Boltzmann probability of each basin of the potential, or empty when not available. D = 1:
/// over the real line; D = 2: over the histogram grid; separable potentials with product basins
/// in D > 2: the product of 1-D probabilities.
std::vector<double> boltzmann_basins(const Model &model, const Grid &grid, double kT);

} // namespace langevin
