// Boltzmann references and histogram distances against closed forms.
#include "langevin/boltzmann.hpp"
#include "langevin/stats.hpp"
#include "test_support.hpp"

#include <atomic>
#include <functional>
#include <limits>
#include <tuple>
#include <vector>

#include <boost/math/quadrature/gauss.hpp>
#include <omp.h>
#include <utility>

using namespace langevin;
using test::study_from;

TEST(Boltzmann, HarmonicMarginalIsTheGaussian) {
    // A wide well, and one 8 standard deviations narrower than a bin (sigma = 0.0125, bins 0.1).
    for (const auto [T, centre] : {std::pair{0.7, 0.5}, std::pair{3.125e-4, 0.53}}) {
        const Study s = study_from(
            "[potential]\nkind = \"harmonic\"\nk = 2\ncentre = " + std::to_string(centre) +
            "\n[histogram]\nbins = 50\nrange = [-2, 3]\n");
        const double var = T / 2;
        const auto p = boltzmann_marginal(s.model, 0, s.grid.axes[0], T);
        ASSERT_EQ(p.size(), 50u);
        double total = 0;
        std::vector<double> exact(50);
        for (int b = 0; b < 50; ++b) {
            const double lo = -2 + 0.1 * b, hi = lo + 0.1;
            exact[b] = 0.5 * (std::erf((hi - centre) / std::sqrt(2 * var)) -
                              std::erf((lo - centre) / std::sqrt(2 * var)));
            total += exact[b];
        }
        for (int b = 0; b < 50; ++b)
            EXPECT_NEAR(p[b], exact[b] / total, 1e-12) << "T = " << T << ", bin " << b;
    }
}

TEST(Boltzmann, SeparableMarginalsAndJointAreTheGaussians) {
    // A wide well; one 13-16 standard deviations narrower than a bin, off the bin centres; one
    // whose bins are 3.7-4.6 standard deviations wide (split only when the rule needs it). The
    // joint of a separable law is the product of its marginals; each is checked against erf.
    for (const auto [T, c0, c1] : {std::tuple{1.0, 0.0, 0.0}, std::tuple{1e-3, 0.13, -0.07},
                                   std::tuple{0.0118, 0.2, 0.25}}) {
        const Study s = study_from("[potential]\nkind = \"harmonic\"\ndim = 2\ncentre = [" +
                                   std::to_string(c0) + ", " + std::to_string(c1) +
                                   "]\n[histogram]\nbins = [10, 12]\nrange = [[-2, 2], [-3, 3]]\n");
        // k = 1: each coordinate is N(centre, T), truncated to its axis.
        auto gaussian = [&](const Axis &a, double centre) {
            auto cdf = [&](double x) { return 0.5 * std::erf((x - centre) / std::sqrt(2 * T)); };
            std::vector<double> p(std::size_t(a.bins));
            const double width = (a.hi - a.lo) / a.bins;
            for (int b = 0; b < a.bins; ++b)
                p[std::size_t(b)] =
                    (cdf(a.lo + (b + 1) * width) - cdf(a.lo + b * width)) / (cdf(a.hi) - cdf(a.lo));
            return p;
        };
        const auto gx = gaussian(s.grid.axes[0], c0), gy = gaussian(s.grid.axes[1], c1);
        const auto px = boltzmann_marginal(s.model, 0, s.grid.axes[0], T);
        const auto py = boltzmann_marginal(s.model, 1, s.grid.axes[1], T);
        const auto joint = boltzmann_joint(s.model, s.grid.axes[0], s.grid.axes[1], T);
        ASSERT_EQ(px.size(), 10u);
        ASSERT_EQ(py.size(), 12u);
        ASSERT_EQ(joint.size(), 120u);
        for (int i = 0; i < 10; ++i) {
            EXPECT_NEAR(px[i], gx[i], 1e-12) << "T = " << T << ", bin " << i;
            for (int j = 0; j < 12; ++j)
                EXPECT_NEAR(joint[i * 12 + j], gx[i] * gy[j], 1e-12)
                    << "T = " << T << ", bin " << i << ", " << j;
        }
        for (int j = 0; j < 12; ++j)
            EXPECT_NEAR(py[j], gy[j], 1e-12) << "T = " << T << ", bin " << j;
    }
}

/// Each joint bin's share of exp(-(E - shift)/T) over the grid, by 8-node Gauss-Legendre on
/// 6 x 6 cells per bin: an independent quadrature to check boltzmann_joint against.
template <class Pot>
std::vector<double> joint_by_cells(const Pot &pot, const Axis &ax, const Axis &ay, double T,
                                   double shift) {
    using G = boost::math::quadrature::gauss<double, 8>;
    std::vector<double> p(std::size_t(ax.bins) * ay.bins, 0.0);
    double total = 0;
    const int cells = 6;
    const double wx = (ax.hi - ax.lo) / ax.bins / cells, wy = (ay.hi - ay.lo) / ay.bins / cells;
    for (int i = 0; i < ax.bins * cells; ++i)
        for (int j = 0; j < ay.bins * cells; ++j)
            for (std::size_t u = 0; u < G::abscissa().size(); ++u)
                for (double su : {-1.0, 1.0})
                    for (std::size_t v = 0; v < G::abscissa().size(); ++v)
                        for (double sv : {-1.0, 1.0}) {
                            const double x = ax.lo + wx * (i + 0.5 + 0.5 * su * G::abscissa()[u]);
                            const double y = ay.lo + wy * (j + 0.5 + 0.5 * sv * G::abscissa()[v]);
                            const double w =
                                G::weights()[u] * G::weights()[v] *
                                std::exp(-(pot.energy(Vec<double, 2>{{x, y}}) - shift) / T);
                            p[std::size_t((i / cells) * ay.bins + j / cells)] += w;
                            total += w;
                        }
    for (double &v : p)
        v /= total;
    return p;
}

TEST(Boltzmann, MullerBrownJointMatchesAnIndependentQuadrature) {
    // The plane's quadrature of a joint histogram (8 x 8 nodes per bin, steep bins split)
    // against 8-node Gauss-Legendre on 6 x 6 cells per bin. E/T varies by up to 120 (T = 20) and
    // 490 (T = 5) across a bin; without the splits the test fails, and so it does (up to 2.5e-11
    // of a bin) where bins that are mostly a plane are kept whole without the 7-node check.
    const Study s = study_from("[potential]\nkind = \"muller_brown\"\n"
                               "[histogram]\nbins = [10, 12]\nrange = [[-1.5, 1.2], [-0.5, 2]]\n");
    const MullerBrown &mb = std::get<MullerBrown>(s.model.potential);
    const Axis &ax = s.grid.axes[0], &ay = s.grid.axes[1];
    for (double T : {20.0, 5.0}) {
        const auto joint = boltzmann_joint(s.model, ax, ay, T);
        ASSERT_EQ(joint.size(), 120u);
        const std::vector<double> exact = joint_by_cells(mb, ax, ay, T, -150.0);
        for (int b = 0; b < 120; ++b) // relative where anything shows (see below)
            EXPECT_NEAR(joint[b], exact[b], exact[b] > 1e-18 ? 1e-12 * exact[b] : 1e-18)
                << "T = " << T << ", bin " << b;
    }
}

TEST(Boltzmann, JointSplitsBinsWhereTheirSlopeOrTheirCurvatureIsSteep) {
    // A bin whose E/kT varies by more than 1/2 over its nodes is split, unless it is mostly a
    // plane (varying by up to 4 across it, the rest by up to 1/2 over its nodes) and 7 x 7 nodes
    // give its value to 1e-13 of its 8 x 8. Logistic regression at T = 0.0015 on 16 x 16 bins
    // of 0.125 around its minimum: most bins lie on slopes of 1 to 19 with little curvature.
    // Against 8-node Gauss-Legendre on 6 x 6 cells per bin, bin by bin, relative to its
    // probability: the largest error is 3e-13.
    const Study s = study_from("[potential]\nkind = \"logistic_regression\"\n[data]\nn = 20\n"
                               "[histogram]\nbins = 16\nrange = [[1.39, 3.39], [-0.56, 1.44]]\n");
    const auto &lr = std::get<LogisticRegression>(s.model.potential);
    const Axis &ax = s.grid.axes[0], &ay = s.grid.axes[1];
    const double T = 0.0015, shift = 0.4393; // just below the minimum, 0.43933
    const auto joint = boltzmann_joint(s.model, ax, ay, T);
    ASSERT_EQ(joint.size(), 256u);
    const std::vector<double> exact = joint_by_cells(lr, ax, ay, T, shift);
    int counted = 0;
    for (int b = 0; b < 256; ++b) {
        const double p = exact[b];
        counted += p > 1e-9;
        // Bins below ~1e-20 of the peak are not split (nothing there shows): 1e-18 absolute.
        EXPECT_NEAR(joint[b], p, p > 1e-18 ? 1e-11 * p : 1e-18) << "bin " << b;
    }
    EXPECT_GE(counted, 4);
}

TEST(Boltzmann, NotAvailableIsEmpty) {
    const Study free2 = study_from("[potential]\nkind = \"free\"\ndim = 2\n");
    EXPECT_TRUE(boltzmann_marginal(free2.model, 0, free2.grid.axes[0], 1.0).empty());
    EXPECT_TRUE(boltzmann_joint(free2.model, free2.grid.axes[0], free2.grid.axes[1], 1.0).empty());
    const Study ackley3 = study_from("[potential]\nkind = \"ackley\"\ndim = 3\n");
    EXPECT_TRUE(boltzmann_marginal(ackley3.model, 0, ackley3.grid.axes[0], 1.0).empty());
    EXPECT_TRUE(boltzmann_basins(ackley3.model, ackley3.grid, 1.0).empty());
    const Study dw = study_from("");
    EXPECT_TRUE(boltzmann_marginal(dw.model, 0, dw.grid.axes[0], 0.0).empty()); // T = 0
}

TEST(Boltzmann, DoubleWellBasinsMatchDirectIntegration) {
    const Study s = study_from("[potential]\nkind = \"double_well\"\ntilt = 0.25\n");
    const double T = 0.5;
    const auto p = boltzmann_basins(s.model, s.grid, T);
    ASSERT_EQ(p.size(), 2u);
    // Midpoint rule on a fine grid, split at the barrier top.
    const double xb = std::get<DoubleWell>(s.model.potential).barrier;
    double left = 0, total = 0;
    for (int i = 0; i < 2000000; ++i) {
        const double x = -4 + 8 * (i + 0.5) / 2000000;
        const double w = std::exp(-(std::pow(x * x - 1, 2) + 0.25 * x) / T);
        total += w;
        if (x < xb)
            left += w;
    }
    EXPECT_NEAR(p[0], left / total, 1e-6);
    EXPECT_NEAR(p[0] + p[1], 1.0, 1e-12);
}

TEST(Boltzmann, ProductBasinsInHighDimension) {
    // Styblinski-Tang D = 3: P(global) = P_1(global)^3 by independence.
    const Study s1 = study_from("[potential]\nkind = \"styblinski_tang\"\ndim = 1\n");
    const Study s3 = study_from("[potential]\nkind = \"styblinski_tang\"\ndim = 3\n");
    const auto p1 = boltzmann_basins(s1.model, s1.grid, 3.0);
    const auto p3 = boltzmann_basins(s3.model, s3.grid, 3.0);
    ASSERT_EQ(p3.size(), 2u);
    EXPECT_NEAR(p3[0], std::pow(p1[0], 3), 1e-12);
    EXPECT_GT(p1[0], 0.5); // the global well holds most mass
}

TEST(Boltzmann, MullerBrownBasinsFavourTheGlobalMinimum) {
    const Study s = study_from("[potential]\nkind = \"muller_brown\"\n");
    const auto cold = boltzmann_basins(s.model, s.grid, 5.0);
    const auto hot = boltzmann_basins(s.model, s.grid, 40.0);
    ASSERT_EQ(cold.size(), 3u);
    EXPECT_GT(cold[0], 0.99); // A is 38 below B: at T = 5, e^{-7.7}
    EXPECT_LT(hot[0], cold[0]);
    EXPECT_NEAR(hot[0] + hot[1] + hot[2], 1.0, 1e-12);
}

// <E> and Var E of exp(-E/T) by the trapezoid rule on a fine lattice over [x0, x1] x [y0, y1]
// (spectrally accurate for a smooth factor that vanishes at the edges).
std::pair<double, double> lattice_moments(const std::function<double(double, double)> &e, double x0,
                                          double x1, double y0, double y1, double T) {
    const int n = 3000;
    std::vector<double> es;
    double emin = 1e300;
    for (int i = 0; i <= n; ++i)
        for (int j = 0; j <= n; ++j) {
            es.push_back(e(x0 + (x1 - x0) * i / n, y0 + (y1 - y0) * j / n));
            emin = std::min(emin, es.back());
        }
    double z = 0, m1 = 0, m2 = 0;
    for (double v : es) {
        const double w = std::exp(-(v - emin) / T);
        z += w, m1 += w * v, m2 += w * v * v;
    }
    return {m1 / z, m2 / z - (m1 / z) * (m1 / z)};
}

TEST(Boltzmann, MullerBrownReferencesCoverThePlaneNotOnlyTheGrid) {
    // The walkers' <E> and basin shares count every walker, so the references must hold the
    // mass beyond the histogram grid too (0.3% at T = 20 on the default grid, 0.4 above it in
    // <E>: a lag z of 0.013 sqrt(N) if left out).
    const Study s = study_from("[potential]\nkind = \"muller_brown\"\n");
    const MullerBrown &mb = std::get<MullerBrown>(s.model.potential);
    const auto e = [&](double x, double y) { return mb.energy(Vec<double, 2>{{x, y}}); };
    for (double T : {20.0, 40.0}) {
        const auto [mean, var] = lattice_moments(e, -4.0, 3.5, -3.0, 4.5, T);
        const auto m = boltzmann_energy_moments(s.model, s.grid, T);
        ASSERT_EQ(m.size(), 2u);
        EXPECT_NEAR(m[0], mean, 1e-9 * std::sqrt(var)) << "T = " << T;
        EXPECT_NEAR(m[1], var, 1e-8 * var) << "T = " << T;
    }
    // Any grid gives the same references: <E> to quadrature accuracy, basins to the
    // resolution of their boundaries (panels that a boundary crosses are quartered 3 times;
    // up to 5e-6 apart on these small grids, whose ring of coarse panels holds more of the
    // boundaries; 1e-5 is below the standard error of 10^9 walkers, and node by node they were
    // allowed 2e-4).
    const auto wide = boltzmann_basins(s.model, s.grid, 20.0);
    const double wide_mean = boltzmann_energy_moments(s.model, s.grid, 20.0)[0];
    for (const char *range : {"[[-1, 0.5], [0, 1.8]]", "[[-0.8, 0.8], [0.2, 1.6]]"}) {
        const Study small = study_from(std::string("[potential]\nkind = \"muller_brown\"\n"
                                                   "[histogram]\nrange = ") +
                                       range + "\n");
        EXPECT_NEAR(boltzmann_energy_moments(small.model, small.grid, 20.0)[0], wide_mean, 1e-9)
            << range;
        const auto b = boltzmann_basins(small.model, small.grid, 20.0);
        ASSERT_EQ(b.size(), 3u);
        for (int i = 0; i < 3; ++i)
            EXPECT_NEAR(b[i], wide[i], 1e-5) << range << " basin " << i;
    }
}

TEST(Boltzmann, ReferencesDoNotDependOnTheThreadCount) {
    // Threads evaluate energies in their own slots and sums run in one order: bitwise the same.
    const Study s = study_from("[potential]\nkind = \"muller_brown\"\n[histogram]\nbins = 40\n");
    auto all = [&](double T) {
        std::vector<double> out = boltzmann_joint(s.model, s.grid.axes[0], s.grid.axes[1], T);
        for (const auto &part :
             {boltzmann_energy_moments(s.model, s.grid, T), boltzmann_basins(s.model, s.grid, T)})
            out.insert(out.end(), part.begin(), part.end());
        return out;
    };
    const int threads = omp_get_max_threads();
    omp_set_num_threads(1);
    const std::vector<double> one = all(1.0), one_hot = all(20.0);
    omp_set_num_threads(3);
    const std::vector<double> three = all(1.0), three_hot = all(20.0);
    omp_set_num_threads(threads);
    EXPECT_EQ(one, three);
    EXPECT_EQ(one_hot, three_hot);
}

TEST(Boltzmann, ReferencesKeepWhatDoesNotDependOnTemperatureBitwise) {
    // A run's references come from one BoltzmannReferences, which keeps the node energies, the
    // plane's scans and its basin classification (with the quarterings' leaves for Müller–Brown's
    // descents) and reweighs them at each T. It must give what a fresh computation gives,
    // bitwise. MB: T = 1 covers the grid alone, T = 300 needs three widenings (the planes are
    // built again), T = 30 two (taken from the wider planes' panels). Ackley's law is confined to
    // the grid; its quarterings' energies (3.1e6, under the 2^22 kept) are recorded at the first
    // T and replayed after.
    const Study mb = study_from("[potential]\nkind = \"muller_brown\"\n[histogram]\nbins = 30\n");
    const Study ackley = study_from("[potential]\nkind = \"ackley\"\ndim = 2\n"
                                    "[histogram]\nrange = [-5.12, 5.12]\n");
    for (const auto &[s, temperatures] : {std::pair{&mb, std::vector<double>{1.0, 300.0, 30.0}},
                                          std::pair{&ackley, std::vector<double>{1.5, 0.7, 5.0}}}) {
        BoltzmannReferences kept(s->model, s->grid);
        for (double T : temperatures) {
            const std::vector<double> basins = boltzmann_basins(s->model, s->grid, T),
                                      moments = boltzmann_energy_moments(s->model, s->grid, T),
                                      joint = boltzmann_joint(s->model, s->grid.axes[0],
                                                              s->grid.axes[1], T);
            ASSERT_FALSE(basins.empty() || moments.empty() || joint.empty()) << "T = " << T;
            EXPECT_EQ(kept.basins(T), basins) << "T = " << T;
            EXPECT_EQ(kept.energy_moments(T), moments) << "T = " << T;
            EXPECT_EQ(kept.joint(T), joint) << "T = " << T;
        }
    }
}

TEST(Boltzmann, ConvexMomentsLeaveOutOnlyWhatIsNegligible) {
    // logistic_regression is convex: its 2-D energy moments evaluate only the cells of the plane
    // where its tangent planes allow E below the grid's lowest + 40 kT; each node left out
    // carries less than e^-40 of the peak's weight. Against every node of the plane (20 points,
    // T = 0.03: the grid widened 7 times): the same to ~1e-15 relative. Kept for T = 0.01, 0.03,
    // 0.02 (the hotter T evaluates more cells) as a fresh computation gives them, bitwise.
    const Study s = study_from("[potential]\nkind = \"logistic_regression\"\n[data]\nn = 20\n");
    BoltzmannReferences kept(s.model, s.grid);
    for (double T : {0.01, 0.03, 0.02}) {
        const std::vector<double> fresh = boltzmann_energy_moments(s.model, s.grid, T);
        ASSERT_EQ(fresh.size(), 2u) << "T = " << T;
        EXPECT_EQ(kept.energy_moments(T), fresh) << "T = " << T;
        if (T != 0.03)
            continue;
        const std::vector<double> all =
            BoltzmannReferences(s.model, s.grid, std::numeric_limits<double>::infinity())
                .energy_moments(T);
        ASSERT_EQ(all.size(), 2u);
        EXPECT_NEAR(fresh[0], all[0], 1e-14 * all[0]);
        EXPECT_NEAR(fresh[1], all[1], 1e-12 * all[1]);
    }
}

TEST(Boltzmann, AlikeCoordinatesAreComputedOnce) {
    // Rastrigin's coordinates are alike (same_coordinates): one coordinate's basins, energy
    // moments and marginal (on an equal axis) serve all, bitwise what each would give.
    const Study one = study_from("[potential]\nkind = \"rastrigin\"\n");
    const Study three = study_from("[potential]\nkind = \"rastrigin\"\ndim = 3\n"
                                   "[histogram]\nbins = [20, 20, 30]\n");
    const double T = 2.0;
    const auto p1 = boltzmann_basins(one.model, one.grid, T);
    const auto m1 = boltzmann_energy_moments(one.model, one.grid, T);
    const auto p3 = boltzmann_basins(three.model, three.grid, T);
    const auto m3 = boltzmann_energy_moments(three.model, three.grid, T);
    ASSERT_EQ(p1.size(), 2u);
    ASSERT_EQ(p3.size(), 2u);
    EXPECT_EQ(p3[0], ((1.0 * p1[0]) * p1[0]) * p1[0]);
    EXPECT_EQ(m3, (std::vector<double>{((0.0 + m1[0]) + m1[0]) + m1[0],
                                       ((0.0 + m1[1]) + m1[1]) + m1[1]}));
    BoltzmannReferences refs(three.model, three.grid);
    const auto marginals = refs.marginals(T);
    ASSERT_EQ(marginals.size(), 3u);
    for (int d = 0; d < 3; ++d)
        EXPECT_EQ(marginals[d], boltzmann_marginal(three.model, d, three.grid.axes[d], T)) << d;
    EXPECT_EQ(marginals[2].size(), 30u); // its own axis, not the first's
}

TEST(Boltzmann, AckleyHasNoLawOnTheLineSoItsReferenceIsTheDefaultRange) {
    // E is bounded far away: over the whole line <E> would be the plateau's (~20.8 at T = 1).
    const Study s = study_from("[potential]\nkind = \"ackley\"\n");
    const Ackley &ack = std::get<Ackley>(s.model.potential);
    double z = 0, m1 = 0, inside = 0;
    const int n = 2000000;
    for (int i = 0; i < n; ++i) { // midpoint rule over the default range [-5, 5]
        const double x = -5 + 10 * (i + 0.5) / n, en = ack.energy(Vec<double, 1>{{x}});
        const double w = std::exp(-en);
        z += w, m1 += w * en;
        inside += std::fabs(x) < 0.5 ? w : 0.0; // the global basin (+-0.5 are cell edges)
    }
    const auto m = boltzmann_energy_moments(s.model, s.grid, 1.0);
    ASSERT_EQ(m.size(), 2u);
    EXPECT_NEAR(m[0], m1 / z, 1e-6);
    // The basins over the same range, in 1-D as in 2-D (they were not computed in 1-D).
    ASSERT_EQ(s.model.dim(), 1);
    const auto basins = boltzmann_basins(s.model, s.grid, 1.0);
    ASSERT_EQ(basins.size(), 2u);
    EXPECT_NEAR(basins[0], inside / z, 1e-6);
    EXPECT_NEAR(basins[1], 1 - inside / z, 1e-6);
}

TEST(Boltzmann, AckleyPlaneBasinsAreExactWhereCellEdgesCrossPanels) {
    // Ackley D = 2 on a grid whose 160 panels per axis do not end at the global cell's edges
    // +-0.5: panels were classified node by node, 1.4e-3 off the global basin's 0.2708 at
    // T = 1.5 (9e-4 at T = 0.7), a 3-SE gap at 10^6 walkers. The reference: 8-node
    // Gauss-Legendre on cells 0.05 wide, split at the cell edges and the cone at 0.
    const Study s = study_from("[potential]\nkind = \"ackley\"\ndim = 2\n"
                               "[histogram]\nrange = [[-2, 3], [-3, 3]]\n");
    const Ackley &ack = std::get<Ackley>(s.model.potential);
    using G = boost::math::quadrature::gauss<double, 8>;
    auto nodes = [](const std::vector<double> &cuts) {
        std::vector<std::pair<double, double>> out; // (x, weight)
        for (std::size_t c = 0; c + 1 < cuts.size(); ++c) {
            const int cells = int(std::lround((cuts[c + 1] - cuts[c]) / 0.05));
            const double h = (cuts[c + 1] - cuts[c]) / cells;
            for (int k = 0; k < cells; ++k) {
                const double mid = cuts[c] + (k + 0.5) * h;
                for (std::size_t i = 0; i < G::abscissa().size(); ++i)
                    for (double sign : {-1.0, 1.0})
                        out.emplace_back(mid + sign * 0.5 * h * G::abscissa()[i],
                                         0.5 * h * G::weights()[i]);
            }
        }
        return out;
    };
    const auto xs = nodes({-2, -0.5, 0, 0.5, 3}), ys = nodes({-3, -0.5, 0, 0.5, 3});
    for (double T : {1.5, 0.7}) {
        double total = 0, global = 0;
        for (const auto &[x, wx] : xs)
            for (const auto &[y, wy] : ys) {
                const double w = wx * wy * std::exp(-ack.energy(Vec<double, 2>{{x, y}}) / T);
                total += w;
                global += std::fabs(x) < 0.5 && std::fabs(y) < 0.5 ? w : 0.0;
            }
        const auto p = boltzmann_basins(s.model, s.grid, T);
        ASSERT_EQ(p.size(), 2u);
        // 1e-5: below the standard error of 10^9 walkers (1.4e-5); the panels' own quadrature
        // leaves ~7e-6 at T = 0.7.
        EXPECT_NEAR(p[0], global / total, 1e-5) << "T = " << T;
    }
}

TEST(Boltzmann, SineFitBasinsCoverTheirRangeWhateverItsEnds) {
    // The basins are those of [w_min, w_max] (a point beyond is in none): the line's panels end
    // at w_max itself, not one rounding past it, for ends that do not divide evenly (these four
    // crashed, indexing basin -1).
    for (const auto &[lo, hi] : {std::pair{-0.9, 3.3}, std::pair{-1.3, 2.9}, std::pair{-2.7, 5.9},
                                 std::pair{-0.9, 3.2}, std::pair{-1.0, 5.5}}) {
        const Study s = study_from(
            "[potential]\nkind = \"sine_fit\"\n[integrator]\nkind = "
            "\"sgd\"\n",
            {"potential.w_min=" + std::to_string(lo), "potential.w_max=" + std::to_string(hi)});
        const auto p = boltzmann_basins(s.model, s.grid, 0.05);
        const SineFit &pot = std::get<SineFit>(s.model.potential);
        ASSERT_GT(pot.basin_count(), 1) << lo << " " << hi; // an alias in range
        ASSERT_EQ(int(p.size()), pot.basin_count()) << lo << " " << hi;
        double total = 0;
        for (double q : p) {
            EXPECT_GE(q, 0.0);
            total += q;
        }
        EXPECT_NEAR(total, 1.0, 1e-12) << lo << " " << hi;
    }
}

TEST(FirstPassage, TheChainsExactTimeTendsToTheContinuumOneAsDtFalls) {
    // Checked once per step, the chain crosses late: to first order the level moves out by
    // beta sqrt(2 T dt / gamma), beta = -zeta(1/2)/sqrt(2 pi) (Broadie, Glasserman & Kou 1997).
    // What remains is O(dt): ten times smaller for a ten times smaller step.
    const Study s = study_from("[integrator]\nkind = \"euler_maruyama\"\n");
    const double beta = 0.5825971579390106, T = 0.5;
    auto remainder = [&](double dt) {
        const double first_order =
            exact_mean_first_passage(s.model, -1.0, 1.0 + beta * std::sqrt(2 * T * dt), T, 1.0);
        return exact_discrete_mean_first_passage(s.model, -1.0, 1.0, T, 1.0, dt) - first_order;
    };
    const double r4 = remainder(1e-4), r5 = remainder(1e-5);
    EXPECT_LT(std::fabs(r5), 2e-4) << r5;
    EXPECT_NEAR(r4 / r5, 10.0, 1.5) << r4 << " " << r5;
    // Mirror images: a tilted well from -1 up to +0.9 equals the opposite tilt from +1 down to
    // -0.9 (a sign slip in the force, the energy or the tails would break it).
    const Study tilted = study_from("[potential]\ntilt = 0.2\n");
    const Study opposite = study_from("[potential]\ntilt = -0.2\n");
    const double up = exact_discrete_mean_first_passage(tilted.model, -1.0, 0.9, T, 1.0, 0.05);
    EXPECT_NEAR(exact_discrete_mean_first_passage(opposite.model, 1.0, -0.9, T, 1.0, 0.05), up,
                1e-9 * up);
    EXPECT_NE(up, exact_discrete_mean_first_passage(s.model, -1.0, 0.9, T, 1.0, 0.05));
    // No answer rather than a wrong one: a step too small for the panels' memory, and a bounded
    // E (Ackley: no law on the line, the integrals over it diverge).
    EXPECT_TRUE(std::isnan(exact_discrete_mean_first_passage(s.model, -1.0, 1.0, T, 1.0, 1e-9)));
    const Study ackley = study_from("[potential]\nkind = \"ackley\"\n");
    EXPECT_TRUE(
        std::isnan(exact_discrete_mean_first_passage(ackley.model, -1.0, 1.0, 2.0, 1.0, 1e-3)));
    EXPECT_TRUE(std::isnan(exact_mean_first_passage(ackley.model, -1.0, 1.0, 2.0, 1.0)));
}

TEST(FirstPassage, ReferenceTimesScaleWithFriction) {
    // Overdamped time runs 1/gamma as fast: every passage time doubles with the friction, and
    // the chain at (2 gamma, 2 dt) is the chain at (gamma, dt) step for step.
    const Study s = study_from("[integrator]\nkind = \"euler_maruyama\"\n");
    const double T = 0.5;
    const double continuum = exact_mean_first_passage(s.model, -1.0, 0.0, T, 1.0);
    EXPECT_NEAR(exact_mean_first_passage(s.model, -1.0, 0.0, T, 2.0), 2 * continuum,
                1e-9 * continuum);
    const double kramers = kramers_time(s.model, -1.0, 0.0, T, 1.0);
    EXPECT_NEAR(kramers_time(s.model, -1.0, 0.0, T, 2.0), 2 * kramers, 1e-9 * kramers);
    const double chain = exact_discrete_mean_first_passage(s.model, -1.0, 0.0, T, 1.0, 0.05);
    EXPECT_NEAR(exact_discrete_mean_first_passage(s.model, -1.0, 0.0, T, 2.0, 0.1), 2 * chain,
                1e-9 * chain);
}

TEST(FirstPassage, KramersTimeUsesTheExactMinimumAndBarrierTop) {
    // Tilted well E = (x^2 - 1)^2 + 0.25 x: its minimum and barrier top lie off any grid. Against
    // the roots of E'(x) = 4 x (x^2 - 1) + 0.25 by Newton in long double: 2 pi / sqrt(E''(x_m)
    // |E''(x_b)|) e^{(E(x_b) - E(x_m))/T}, to 1e-9 (a grid of 1e-4 left it 7e-5 off).
    const Study s = study_from("[potential]\nkind = \"double_well\"\ntilt = 0.25\n"
                               "[integrator]\nkind = \"euler_maruyama\"\n");
    auto root = [](long double x) {
        for (int i = 0; i < 60; ++i)
            x -= (4 * x * (x * x - 1) + 0.25L) / (12 * x * x - 4);
        return x;
    };
    const long double xm = root(0.95L), xb = root(0.06L);
    auto energy = [](long double x) { return (x * x - 1) * (x * x - 1) + 0.25L * x; };
    const double T = 0.5;
    const double exact = double(2 * M_PI / std::sqrt((12 * xm * xm - 4) * -(12 * xb * xb - 4)) *
                                std::exp((energy(xb) - energy(xm)) / T));
    EXPECT_NEAR(kramers_time(s.model, 1.0, -0.5, T, 1.0), exact, 1e-9 * exact);
}

TEST(FirstPassage, AFirstStepThatSurelyCrossesTakesOneDt) {
    // Harmonic well centred at 10, start 0, level 0.1, T = 0.01, dt = 0.1: the first step lands
    // at N(1, 0.002), past the level with certainty, so the chain's MFPT is exactly one dt.
    const Study s = study_from("[potential]\nkind = \"harmonic\"\nk = 1\ncentre = 10\n");
    EXPECT_NEAR(exact_discrete_mean_first_passage(s.model, 0.0, 0.1, 0.01, 1.0, 0.1), 0.1, 1e-9);
}

TEST(Boltzmann, SeparableEnergyMomentsAddOverCoordinates) {
    // Styblinski-Tang is a sum over coordinates: <E> and Var E in 3-D are three times 1-D's.
    const Study one = study_from("[potential]\nkind = \"styblinski_tang\"\ndim = 1\n");
    const Study three = study_from("[potential]\nkind = \"styblinski_tang\"\ndim = 3\n");
    const auto m1 = boltzmann_energy_moments(one.model, one.grid, 3.0);
    const auto m3 = boltzmann_energy_moments(three.model, three.grid, 3.0);
    EXPECT_NEAR(m3[0], 3 * m1[0], 1e-9 * std::fabs(m1[0]));
    EXPECT_NEAR(m3[1], 3 * m1[1], 1e-9 * m1[1]);
}

TEST(Stats, Chi2SurvivalKnownValues) {
    EXPECT_NEAR(chi2_survival(2.0, 2), std::exp(-1.0), 1e-14); // dof 2: e^{-x/2}
    EXPECT_NEAR(chi2_survival(3.841458820694124, 1), 0.05, 1e-12);
    EXPECT_EQ(chi2_survival(0.0, 5), 1.0);
}

TEST(Stats, ComparisonOfExactCountsAndMerging) {
    const std::vector<double> ref = {0.25, 0.25, 0.25, 0.25};
    const Comparison same = compare_histogram({250, 250, 250, 250}, ref);
    EXPECT_TRUE(same.available);
    EXPECT_NEAR(same.kl, 0.0, 1e-15);
    EXPECT_NEAR(same.tv, 0.0, 1e-15);
    EXPECT_NEAR(same.chi2, 0.0, 1e-12);
    EXPECT_EQ(same.chi2_dof, 3);
    const Comparison off = compare_histogram({400, 200, 200, 200}, ref);
    EXPECT_NEAR(off.tv, 0.15, 1e-12);
    EXPECT_NEAR(off.chi2, 150.0 * 150 / 250 + 3 * 50.0 * 50 / 250, 1e-9);
    EXPECT_NEAR(off.kl, 0.4 * std::log(1.6) + 0.6 * std::log(0.8), 1e-12); // KL(empirical||ref)
    // p of chi^2 = 4 with 1 dof: erfc(sqrt(2)).
    const Comparison half = compare_histogram({60, 40}, {0.5, 0.5});
    EXPECT_EQ(half.chi2_dof, 1);
    EXPECT_NEAR(half.chi2, 4.0, 1e-12);
    EXPECT_NEAR(half.chi2_p, std::erfc(std::sqrt(2.0)), 1e-12);
    // Groups form by expected counts (>= 5), not observed ones. Expected {2, 3, 5, 90} against
    // observed {0, 0, 10, 90}: groups {5: 0}, {5: 10}, {90: 90}, chi^2 = 5 + 5 with 2 dof.
    const Comparison grouped = compare_histogram({0, 0, 10, 90}, {0.02, 0.03, 0.05, 0.90});
    EXPECT_EQ(grouped.chi2_dof, 2);
    EXPECT_NEAR(grouped.chi2, 10.0, 1e-9);
    // Sparse tails merge until the expected count reaches 5: 100 walkers, p = 0.01 per tail bin.
    std::vector<double> tails = {0.01, 0.01, 0.01, 0.94, 0.01, 0.01, 0.01};
    const Comparison merged = compare_histogram({1, 1, 1, 94, 1, 1, 1}, tails);
    EXPECT_EQ(merged.chi2_dof, 0); // one group: first three + 94 reach 5 at once, rest joins
    EXPECT_FALSE(compare_histogram({1, 2}, {}).available);
}

TEST(Boltzmann, InterruptedReferencesThrowAndForgetWhatTheyKept) {
    // The hook given to interrupt_when is asked in every long loop (parallel ones included). Told
    // to stop at its k-th call, the method throws Interrupted; the same object, asked again
    // without the hook, gives bitwise what an uninterrupted one gives, at that T and at one it had
    // kept before. k runs from the first call to the last, so the loops are interrupted in turn.
    // Logistic regression (20 points): the joint histogram (its node energies, then its bins),
    // and the energy moments (T = 0.03 widens the plane that T = 0.01 kept: scans, the screen,
    // its cells); Müller–Brown (a fresh plane): the basins' scans, nodes, descents and crossed
    // panels. Without forgetting, the joint would reuse node energies left half evaluated.
    const Study lr = study_from("[potential]\nkind = \"logistic_regression\"\n[data]\nn = 20\n"
                                "[histogram]\nbins = 24\n");
    const Study mb = study_from("[potential]\nkind = \"muller_brown\"\n[histogram]\nbins = 16\n");
    using Method = std::vector<double> (BoltzmannReferences::*)(double);
    struct Case {
        const Study *study;
        Method method;
        const char *name;
        double before, T; // kept at `before` (none: 0), interrupted at T
        int tries;
    };
    for (const Case &c : {Case{&lr, &BoltzmannReferences::joint, "joint", 0.0, 0.02, 5},
                          Case{&lr, &BoltzmannReferences::energy_moments, "moments", 0.01, 0.03, 5},
                          Case{&mb, &BoltzmannReferences::basins, "basins", 0.0, 5.0, 3}}) {
        SCOPED_TRACE(c.name);
        auto keep = [&](BoltzmannReferences &refs) {
            return c.before > 0 ? (refs.*c.method)(c.before) : std::vector<double>{};
        };
        BoltzmannReferences counted(c.study->model, c.study->grid);
        const std::vector<double> kept = keep(counted);
        std::atomic<int> calls{0};
        counted.interrupt_when([&] {
            ++calls;
            return false;
        });
        const std::vector<double> whole = (counted.*c.method)(c.T);
        ASSERT_FALSE(whole.empty());
        const int n = calls;
        ASSERT_GT(n, 10);
        for (int t = 0; t < c.tries; ++t) {
            const int k = 1 + (n - 1) * t / (c.tries - 1);
            BoltzmannReferences refs(c.study->model, c.study->grid);
            EXPECT_EQ(keep(refs), kept);
            std::atomic<int> asked{0};
            refs.interrupt_when([&] { return ++asked >= k; });
            EXPECT_THROW((refs.*c.method)(c.T), Interrupted) << "k = " << k << " of " << n;
            refs.interrupt_when({});
            EXPECT_EQ((refs.*c.method)(c.T), whole) << "k = " << k;
            EXPECT_EQ(keep(refs), kept) << "k = " << k;
        }
    }
}
