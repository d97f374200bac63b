// Boltzmann references and histogram distances against closed forms.
#include "langevin/boltzmann.hpp"
#include "langevin/stats.hpp"
#include "test_support.hpp"

using namespace langevin;
using test::study_from;

TEST(Boltzmann, HarmonicMarginalIsTheGaussian) {
    const Study s = study_from("[potential]\nkind = \"harmonic\"\nk = 2\ncentre = 0.5\n"
                               "[histogram]\nbins = 50\nrange = [-2, 3]\n");
    const double T = 0.7, var = T / 2;
    const auto p = boltzmann_marginal(s.model, 0, s.grid.axes[0], T);
    ASSERT_EQ(p.size(), 50u);
    double total = 0;
    std::vector<double> exact(50);
    for (int b = 0; b < 50; ++b) {
        const double lo = -2 + 0.1 * b, hi = lo + 0.1;
        exact[b] = 0.5 * (std::erf((hi - 0.5) / std::sqrt(2 * var)) -
                          std::erf((lo - 0.5) / std::sqrt(2 * var)));
        total += exact[b];
    }
    for (int b = 0; b < 50; ++b)
        EXPECT_NEAR(p[b], exact[b] / total, 1e-12);
}

TEST(Boltzmann, SeparableMarginalsAndJoint) {
    const Study s = study_from("[potential]\nkind = \"harmonic\"\ndim = 2\n"
                               "[histogram]\nbins = [10, 12]\nrange = [[-2, 2], [-3, 3]]\n");
    const auto px = boltzmann_marginal(s.model, 0, s.grid.axes[0], 1.0);
    const auto py = boltzmann_marginal(s.model, 1, s.grid.axes[1], 1.0);
    const auto joint = boltzmann_joint(s.model, s.grid.axes[0], s.grid.axes[1], 1.0);
    ASSERT_EQ(joint.size(), 120u);
    for (int i = 0; i < 10; ++i)
        for (int j = 0; j < 12; ++j)
            EXPECT_NEAR(joint[i * 12 + j], px[i] * py[j], 1e-12);
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
    // Sparse tails merge until the expected count reaches 5: 100 walkers, p = 0.01 per tail bin.
    std::vector<double> tails = {0.01, 0.01, 0.01, 0.94, 0.01, 0.01, 0.01};
    const Comparison merged = compare_histogram({1, 1, 1, 94, 1, 1, 1}, tails);
    EXPECT_EQ(merged.chi2_dof, 0); // one group: first three + 94 reach 5 at once, rest joins
    EXPECT_FALSE(compare_histogram({1, 2}, {}).available);
}
