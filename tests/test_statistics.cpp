// Statistical tests against exact discrete-time laws (README, Tests), on every backend. Seeds are
// fixed, so each test is deterministic; tolerances are five standard errors of the sample size,
// and each test also checks that a plausible bug would fail it (power).
#include <array>
#include <cmath>
#include <limits>

#include "langevin/boltzmann.hpp"
#include "langevin/grid.hpp"
#include "langevin/stats.hpp"
#include "test_support.hpp"

using namespace langevin;
using test::BackendTest;
using test::kZ;
using test::moments;
using test::study_from;
using test::z_mean;
using test::z_var;

namespace {

struct Saved {
    std::vector<double> x, v;
};

Saved simulate(Backend &b, const Study &s, std::uint64_t steps) {
    b.initialize(s.model, s.init, 0, s.walkers);
    b.advance(s.model, 0, steps, s.schedule.table(0, steps));
    WalkerState w;
    b.save(w);
    return Saved{w.x, w.v};
}

const char *kHarmonic = R"(
[ensemble]
walkers = 1048576
seed = 3
precision = "float64"
init_point = 2.0
[potential]
kind = "harmonic"
k = 2.0
[integrator]
kind = "euler_maruyama"
dt = 0.1
friction = 0.8
[temperature]
T = 0.5
)";

/// Gaussian bin probabilities over an axis, normalised over it.
std::vector<double> gaussian_bins(const Axis &a, double mean, double var) {
    std::vector<double> p(a.bins);
    double total = 0;
    for (int b = 0; b < a.bins; ++b) {
        const double lo = a.lo + (a.hi - a.lo) * b / a.bins, hi = lo + (a.hi - a.lo) / a.bins;
        p[b] = 0.5 * (std::erf((hi - mean) / std::sqrt(2 * var)) -
                      std::erf((lo - mean) / std::sqrt(2 * var)));
        total += p[b];
    }
    for (double &q : p)
        q /= total;
    return p;
}

} // namespace

class ExactLaws : public BackendTest {};

TEST_P(ExactLaws, EulerMaruyamaHarmonicIsTheExactAR1) {
    for (const char *precision : {"float64", "float32"}) {
        const Study s = study_from(kHarmonic, {std::string("ensemble.precision=") + precision});
        const int n = 20;
        // k and gamma off 1: a step that drops either (dt/gamma -> dt, k x -> x) is caught.
        const double k = 2, gamma = 0.8, dt = 0.1, T = 0.5, x0 = 2;
        const double a = 1 - k * dt / gamma;
        double mean = x0, var = 0;
        for (int i = 0; i < n; ++i) {
            mean *= a;
            var = a * a * var + 2 * T * dt / gamma;
        }
        auto b = backend();
        const auto m = moments(simulate(*b, s, n).x, 1, 0);
        EXPECT_LT(std::fabs(z_mean(m, mean, var)), kZ) << precision;
        EXPECT_LT(std::fabs(z_var(m, var)), kZ) << precision;
        // Power: the continuum OU law at t = n dt is rejected.
        const double t = n * dt;
        const double ou_mean = x0 * std::exp(-k * t / gamma);
        const double ou_var = T / k * (1 - std::exp(-2 * k * t / gamma));
        EXPECT_GT(std::fabs(z_mean(m, ou_mean, ou_var)), kZ);
        EXPECT_GT(std::fabs(z_var(m, ou_var)), kZ);
        // Power: T_{n+1} in step n (a schedule off by one) shows: here a 10 % hotter bath.
        double var_hot = 0;
        for (int i = 0; i < n; ++i)
            var_hot = a * a * var_hot + 2 * 1.1 * T * dt / gamma;
        EXPECT_GT(std::fabs(z_var(m, var_hot)), kZ);
    }
}

TEST_P(ExactLaws, EulerMaruyamaHistogramIsTheExactGaussian) {
    // The stationary EM law on a harmonic well: N(0, T / (k (1 - k dt / (2 gamma)))); here
    // k = 2, gamma = 0.8, dt = 0.2, T = 0.5: variance 1/3 (a = 1 - k dt / gamma = 0.5).
    const Study s =
        study_from(kHarmonic, {"ensemble.init_point=0", "ensemble.walkers=262144",
                               "ensemble.precision=float32", "integrator.dt=0.2", "run.steps=100",
                               "histogram.bins=60", "histogram.range=[-3, 3]"});
    auto b = backend();
    const RunResult r = run_study(s, *b);
    const HistogramResult &h = r.samples.back().histograms[0];
    const double exact_var = 0.5 / (2 * (1 - 0.25)); // a^200 transient is negligible
    const Comparison exact = compare_histogram(h.counts, gaussian_bins(h.axes[0], 0, exact_var));
    EXPECT_GT(exact.chi2_p, 1e-6) << "chi2 = " << exact.chi2 << " / " << exact.chi2_dof;
    // Power: the continuum variance T/k (what the program's Boltzmann reference assumes) fails.
    const Comparison continuum = compare_histogram(h.counts, gaussian_bins(h.axes[0], 0, 0.25));
    EXPECT_LT(continuum.chi2_p, 1e-6);
    EXPECT_LT(r.samples.back().comparison.chi2_p, 1e-6); // the O(dt) bias, named in README
}

TEST_P(ExactLaws, LeimkuhlerMatthewsHarmonicVarianceIsExactlyTOverK) {
    for (const char *precision : {"float64", "float32"}) {
        const Study s = study_from(kHarmonic, {"integrator.kind=leimkuhler_matthews",
                                               "integrator.dt=0.5", "temperature.T=1",
                                               std::string("ensemble.precision=") + precision});
        auto b = backend();
        // k = 2, gamma = 0.8, dt = 0.5: a = 1 - k dt / gamma = -0.25, a^160 is negligible.
        const auto m = moments(simulate(*b, s, 80).x, 1, 0);
        EXPECT_LT(std::fabs(z_mean(m, 0.0, 0.5)), kZ) << precision;
        EXPECT_LT(std::fabs(z_var(m, 0.5)), kZ) << precision; // T / k
        // Power: Euler-Maruyama's variance at this dt, T / (k (1 - k dt / (2 gamma))), and
        // the noise without its 1/gamma (variance T gamma / k) are rejected.
        EXPECT_GT(std::fabs(z_var(m, 0.5 / (1 - 0.625))), kZ);
        EXPECT_GT(std::fabs(z_var(m, 0.5 * 0.8)), kZ);
    }
}

TEST_P(ExactLaws, BAOABHarmonicFollowsTheExactMomentRecursion) {
    // k, m and gamma off 1: a step that drops any of them (kick h/(2m), noise T/m, damping
    // exp(-gamma h), force k x) is caught.
    const double k = 2, m = 1.5, gamma = 0.7, h = 0.5, T = 1, x0 = 1;
    const double w2 = k / m, c = std::exp(-gamma * h);
    const std::array<std::array<double, 2>, 2> M = {
        {{1 - (1 + c) * w2 * h * h / 4, (1 + c) * h / 2},
         {-(1 + c) * (w2 * h / 2) * (1 - w2 * h * h / 4), c - (1 + c) * w2 * h * h / 4}}};
    const std::array<double, 2> g = {h / 2, 1 - w2 * h * h / 4};
    const double noise = (1 - c * c) * T / m;
    for (int steps : {3, 200}) {
        std::array<double, 2> mu = {x0, 0};
        std::array<std::array<double, 2>, 2> S = {{{0, 0}, {0, T / m}}};
        for (int n = 0; n < steps; ++n) {
            const std::array<double, 2> mu2 = {M[0][0] * mu[0] + M[0][1] * mu[1],
                                               M[1][0] * mu[0] + M[1][1] * mu[1]};
            std::array<std::array<double, 2>, 2> MS{}, S2{};
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 2; ++j)
                    for (int l = 0; l < 2; ++l)
                        MS[i][j] += M[i][l] * S[l][j];
            for (int i = 0; i < 2; ++i)
                for (int j = 0; j < 2; ++j) {
                    for (int l = 0; l < 2; ++l)
                        S2[i][j] += MS[i][l] * M[j][l];
                    S2[i][j] += noise * g[i] * g[j];
                }
            mu = mu2;
            S = S2;
        }
        auto b = backend();
        for (const char *precision : {"float64", "float32"}) {
            const Study s = study_from(kHarmonic, {"integrator.kind=baoab", "integrator.dt=0.5",
                                                   "integrator.mass=1.5", "integrator.friction=0.7",
                                                   "temperature.T=1", "ensemble.init_point=1",
                                                   std::string("ensemble.precision=") + precision});
            const Saved state = simulate(*b, s, steps);
            const auto mx = moments(state.x, 1, 0), mv = moments(state.v, 1, 0);
            SCOPED_TRACE(precision);
            EXPECT_LT(std::fabs(z_mean(mx, mu[0], S[0][0])), kZ) << steps;
            EXPECT_LT(std::fabs(z_var(mx, S[0][0])), kZ) << steps;
            EXPECT_LT(std::fabs(z_mean(mv, mu[1], S[1][1])), kZ) << steps;
            EXPECT_LT(std::fabs(z_var(mv, S[1][1])), kZ) << steps;
            if (steps == 200)
                EXPECT_GT(std::fabs(z_var(mv, T / m)), kZ); // power: <v^2> is not T/m
        }
        if (steps == 200) {
            // Stationary: <x^2> = T/k exactly, <v^2> = (T/m)(1 - w^2 h^2/4), not T/m.
            EXPECT_NEAR(S[0][0], T / k, 1e-12);
            EXPECT_NEAR(S[1][1], T / m * (1 - w2 * h * h / 4), 1e-12);
            // The reported kinetic temperature m <v^2> is that stationary value, to its SE.
            const RunResult r =
                run_study(study_from(kHarmonic, {"integrator.kind=baoab", "integrator.dt=0.5",
                                                 "integrator.mass=1.5", "integrator.friction=0.7",
                                                 "temperature.T=1", "ensemble.walkers=262144",
                                                 "run.steps=200", "run.samples=1"}),
                          *b);
            const double kinetic = T * (1 - w2 * h * h / 4);
            const double se = kinetic * std::sqrt(2.0 / 262144);
            EXPECT_LT(std::fabs(r.samples.back().kinetic_temperature - kinetic) / se, kZ);
            EXPECT_GT(std::fabs(r.samples.back().kinetic_temperature - kinetic / m) / se, kZ);
        }
    }
}

TEST_P(ExactLaws, GaussianStartsHaveTheirMeanAndSigma) {
    // init_sigma is a standard deviation: 0.25 gives variance 0.0625 (0.25 itself is rejected).
    const Study s = study_from(R"(
[ensemble]
walkers = 65536
init = "gaussian"
init_point = 0.5
init_sigma = 0.25
precision = "float64"
[potential]
kind = "harmonic"
)");
    auto b = backend();
    b->initialize(s.model, s.init, 0, s.walkers);
    WalkerState w;
    b->save(w);
    const auto m = moments(w.x, 1, 0);
    EXPECT_LT(std::fabs(z_mean(m, 0.5, 0.0625)), kZ);
    EXPECT_LT(std::fabs(z_var(m, 0.0625)), kZ);
    EXPECT_GT(std::fabs(z_var(m, 0.25)), kZ);
}

TEST_P(ExactLaws, FreeParticleMeanSquareDisplacementIsEinstein) {
    // Euler-Maruyama, E = 0: x_n - x_0 ~ N(0, 2 (T/gamma) n dt) per coordinate, exactly.
    const Study s = study_from(R"(
[ensemble]
walkers = 262144
seed = 8
init_point = [1.0, -2.0]
[potential]
kind = "free"
dim = 2
[integrator]
dt = 0.01
friction = 2.0
[temperature]
T = 1.0
)");
    auto b = backend();
    const Saved state = simulate(*b, s, 100);
    const double var = 2 * (1.0 / 2.0) * 100 * 0.01;
    const double start[2] = {1.0, -2.0};
    for (int d = 0; d < 2; ++d) {
        const auto m = moments(state.x, 2, d);
        EXPECT_LT(std::fabs(z_mean(m, start[d], var)), kZ);
        EXPECT_LT(std::fabs(z_var(m, var)), kZ);
        EXPECT_GT(std::fabs(z_var(m, 2 * var)), kZ); // power: D = 2T/gamma would double it
    }
}

TEST_P(ExactLaws, DoubleWellReachesBoltzmannWithLeimkuhlerMatthews) {
    // O(dt^2) stationary bias at dt = 0.01 is far below the multinomial noise of 131072 walkers.
    const Study s = study_from(R"(
[ensemble]
walkers = 131072
seed = 21
init = "point"
init_point = 1.0
[potential]
kind = "double_well"
tilt = 0.25
[integrator]
kind = "leimkuhler_matthews"
dt = 0.01
[temperature]
T = 0.5
[run]
steps = 3000
[histogram]
bins = 60
range = [-2, 2]
)");
    auto b = backend();
    const RunResult r = run_study(s, *b);
    const SampleResult &last = r.samples.back();
    ASSERT_TRUE(last.comparison.available);
    EXPECT_GT(last.comparison.chi2_p, 1e-6)
        << last.comparison.chi2 << "/" << last.comparison.chi2_dof;
    ASSERT_EQ(last.basins.size(), 2u);
    const double p = last.basins[0].boltzmann, n = double(s.walkers);
    EXPECT_LT(std::fabs(last.basins[0].empirical - p) / std::sqrt(p * (1 - p) / n), kZ);
    // Power: the Boltzmann law 10 % hotter is rejected.
    const auto hot = boltzmann_marginal(s.model, 0, s.grid.axes[0], 0.55);
    EXPECT_LT(compare_histogram(last.histograms[0].counts, hot).chi2_p, 1e-6);
}

TEST_P(ExactLaws, NonFiniteWalkersAreCountedNeverBinned) {
    // k dt / gamma = 7.5: |a| = 6.5, the AR(1) blows up to inf and then NaN.
    const Study s =
        study_from(kHarmonic, {"integrator.dt=3", "ensemble.walkers=5000", "run.steps=2000",
                               "run.sample_every=1000", "ensemble.precision=float32"});
    auto b = backend();
    const RunResult r = run_study(s, *b);
    const SampleResult &last = r.samples.back();
    EXPECT_EQ(last.nonfinite, 5000u);
    EXPECT_EQ(last.finite, 0u);
    EXPECT_EQ(last.histograms[0].nonfinite, 5000u);
    std::uint64_t binned = last.histograms[0].outside;
    for (auto c : last.histograms[0].counts)
        binned += c;
    EXPECT_EQ(binned, 0u);
}

TEST(Binning, AxisSlotsAreHalfOpenBinsOfEqualWidth) {
    const Axis axis{-2.0, 2.0, 100}; // the reference study's grid: width 0.04
    const double inf = std::numeric_limits<double>::infinity();
    EXPECT_EQ(axis_slot(-2.0, axis), 1);
    EXPECT_EQ(axis_slot(std::nextafter(-2.0, -inf), axis), 0);
    EXPECT_EQ(axis_slot(2.0, axis), 0); // [lo, hi): hi is outside
    EXPECT_EQ(axis_slot(std::nextafter(2.0, -inf), axis), 100);
    EXPECT_EQ(axis_slot(0.0, axis), 51);
    EXPECT_EQ(axis_slot(-1.0, axis), 26);
    EXPECT_EQ(axis_slot(inf, axis), 0);
    EXPECT_EQ(axis_slot(-inf, axis), 0);
    EXPECT_EQ(axis_slot(std::nan(""), axis), 0);
    // Every bin gets the points strictly inside it (edges may round either way by an ulp).
    for (int b = 0; b < 100; ++b)
        for (double f : {0.01, 0.5, 0.99})
            EXPECT_EQ(axis_slot(-2.0 + (b + f) * 0.04, axis), b + 1) << b << " " << f;
    // One bin: everything in [lo, hi).
    EXPECT_EQ(axis_slot(std::nextafter(1.0, 0.0), Axis{0.0, 1.0, 1}), 1);
    // A width that overflows (refused by the configuration) still gives a slot, never UB.
    const int s = axis_slot(9e307, Axis{-1e308, 1e308, 10}); // (inf) * 0
    EXPECT_TRUE(s >= 1 && s <= 10) << s;
}

LGV_INSTANTIATE_BACKENDS(ExactLaws);
