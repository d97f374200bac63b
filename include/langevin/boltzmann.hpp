// Boltzmann references p(x) ∝ exp(-E(x)/T) by Gauss-Legendre quadrature (host only).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "langevin/error.hpp"
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

/// The energy and the walkers' basin rule at the centre of every joint bin (row-major, axis 0
/// outer; basin -1: none), for contour plots. D = 2 only; empty otherwise.
struct PotentialMap {
    std::vector<double> energy;
    std::vector<std::int64_t> basin;
};
PotentialMap potential_map(const Model &model, const Axis &a0, const Axis &a1);

} // namespace langevin

namespace langevin {

/// Boltzmann mean and variance of the energy at kT, or empty when not available: D = 1 over the
/// real line, separable potentials as sums of 1-D moments, D = 2 over the plane where exp(-E/T)
/// matters (confined laws: over the grid or the default range).
std::vector<double> boltzmann_energy_moments(const Model &model, const Grid &grid, double kT);

namespace detail {
struct PlaneCache;
class Stop;
} // namespace detail

/// The references of one model and grid at the many temperatures a study samples: bitwise what
/// boltzmann_joint, boltzmann_basins and boltzmann_energy_moments give, with what does not
/// depend on T computed once. In 2-D: the energies at the joint histogram's nodes and at the
/// plane's (a data-defined loss pays for all its data at each), how far the plane reaches at
/// each widening, and the basins' classification of the plane (a descent per node for
/// Müller–Brown). A hotter T that needs a wider plane widens them. One thread at a time: the
/// methods fill the kept parts.
class BoltzmannReferences {
public:
    /// A convex potential's energy moments in 2-D leave out the parts of the plane where its
    /// tangent planes keep E this many kT above the grid's lowest energy (a share below e^-40
    /// of exp(-E/kT)'s peak per node), without evaluating them; infinity: none left out.
    static constexpr double kConvexMargin = 40.0;

    BoltzmannReferences(const Model &model, const Grid &grid, double convex_margin = kConvexMargin);
    ~BoltzmannReferences();
    BoltzmannReferences(const BoltzmannReferences &) = delete;
    BoltzmannReferences &operator=(const BoltzmannReferences &) = delete;

    /// Polls `asked` (from several threads at once) during the long computations of the methods
    /// below: once it returns true, the method throws Interrupted within a fraction of a second
    /// and forgets what it kept (later calls compute it afresh). Empty: never asked.
    void interrupt_when(std::function<bool()> asked);

    /// boltzmann_marginal of each dimension over its axis (a coordinate like an earlier one,
    /// on the same axis, takes its marginal: rastrigin, styblinski_tang).
    const std::vector<std::vector<double>> &marginals(double kT);
    std::vector<double> joint(double kT);          ///< boltzmann_joint over the grid's axes 0, 1
    std::vector<double> basins(double kT);         ///< boltzmann_basins
    std::vector<double> energy_moments(double kT); ///< boltzmann_energy_moments

private:
    Model model_;
    Grid grid_;
    double convex_margin_;
    std::function<bool()> asked_;
    std::unique_ptr<detail::PlaneCache> cache_;
    std::vector<double> joint(double kT, detail::Stop &stop);
    std::vector<double> basins(double kT, detail::Stop &stop);
    std::vector<double> energy_moments(double kT, detail::Stop &stop);
    /// body(stop), with a Stop on asked_; an interrupted body leaves the kept parts half filled,
    /// so they are all forgotten.
    template <class Body> auto interruptible(Body &&body);
};

/// Exact mean first-passage time of 1-D overdamped dynamics (friction coefficient gamma) from x0
/// to the level b (target x > b when b > x0, x < b when b < x0), reflecting at the far side:
/// tau = (gamma/T) int_{x0}^{b} dy e^{E(y)/T} int_{-inf}^{y} dz e^{-E(z)/T} (Gardiner 5.2.7).
/// NaN when the model is not 1-D, its law is confined, or the lower tail is never reached.
double exact_mean_first_passage(const Model &model, double x0, double b, double kT, double gamma);

/// Exact mean first-passage time of the Euler-Maruyama chain itself, x' = x - E'(x) dt/gamma +
/// sqrt(2 T dt/gamma) xi, checked after every step: dt u(x0), where the expected step count u
/// solves u(x) = 1 + int_{y short of b} K(x, y) u(y) dy with the chain's Gaussian kernel K
/// (Nystrom: Gauss-Legendre panels one kernel width wide; the system is an M-matrix, solved by
/// banded elimination). No time-step error. The target is x > b when b > x0, x < b when b < x0;
/// NaN when the model is not 1-D, its law is confined (E bounded far away), the lower tail is
/// never reached, or the system would need more than 65 536 panels or 512 MB.
double exact_discrete_mean_first_passage(const Model &model, double x0, double b, double kT,
                                         double gamma, double dt);

/// 1 / Kramers rate (Smoluchowski limit) for leaving the well nearest to x0 over the highest
/// point between it and b: 2 pi gamma / sqrt(E''(x_m) |E''(x_b)|) e^{dE/T}. NaN without a barrier.
double kramers_time(const Model &model, double x0, double b, double kT, double gamma);

} // namespace langevin
