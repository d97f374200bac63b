// Studies: schedules, sampling, first passage, MSD, checkpoints, HDF5 round trips.
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>

#include "io/hdf5.hpp"
#include "langevin/output.hpp"
#include "test_support.hpp"

#include <omp.h>

using namespace langevin;
using test::BackendTest;
using test::kZ;
using test::study_from;

namespace {

std::string error_of(const std::string &toml) {
    try {
        study_from(toml);
    } catch (const Error &e) {
        return e.what();
    }
    return "<no error>";
}

/// A double's bits: equal for equal NaNs (no first passage) too.
std::uint64_t bits(double v) {
    std::uint64_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
}

void expect_same_results(const RunResult &a, const RunResult &b) {
    ASSERT_EQ(a.samples.size(), b.samples.size());
    for (std::size_t k = 0; k < a.samples.size(); ++k) {
        const SampleResult &p = a.samples[k], &q = b.samples[k];
        EXPECT_EQ(p.mean, q.mean) << "sample " << k;
        EXPECT_EQ(p.var, q.var);
        EXPECT_EQ(p.mean_energy, q.mean_energy);
        EXPECT_EQ(p.msd, q.msd);
        EXPECT_EQ(p.hits, q.hits);
        EXPECT_EQ(p.best_energy, q.best_energy);
        EXPECT_EQ(p.best_position, q.best_position);
        for (std::size_t h = 0; h < p.histograms.size(); ++h)
            EXPECT_EQ(p.histograms[h].counts, q.histograms[h].counts);
    }
    EXPECT_EQ(a.first_passage.counts, b.first_passage.counts);
    EXPECT_EQ(bits(a.first_passage.mean), bits(b.first_passage.mean));
    EXPECT_EQ(bits(a.first_passage.standard_error), bits(b.first_passage.standard_error));
    EXPECT_EQ(a.trajectories.positions, b.trajectories.positions);
}

} // namespace

TEST(Schedules, Values) {
    Schedule s =
        study_from("[temperature]\nkind = \"linear\"\nT0 = 2\nT1 = 1\nsteps = 10\n").schedule;
    EXPECT_DOUBLE_EQ(s.at(0), 2.0);
    EXPECT_DOUBLE_EQ(s.at(5), 1.5);
    EXPECT_DOUBLE_EQ(s.at(10), 1.0);
    EXPECT_DOUBLE_EQ(s.at(99), 1.0); // holds T1 after its span
    s = study_from("[temperature]\nkind = \"geometric\"\nT0 = 4\nT1 = 1\nsteps = 2\n").schedule;
    EXPECT_DOUBLE_EQ(s.at(1), 2.0);
    s = study_from("[temperature]\nkind = \"geometric\"\nT0 = 1\nrate = 0.5\n").schedule;
    EXPECT_DOUBLE_EQ(s.at(3), 0.125);
    s = study_from("[temperature]\nkind = \"logarithmic\"\nc = 0.8\nn0 = 2\n").schedule;
    EXPECT_DOUBLE_EQ(s.at(0), 0.8 / std::log(2.0));
    EXPECT_DOUBLE_EQ(s.at(1000), 0.8 / std::log(1002.0));
    s = study_from("[temperature]\nkind = \"logarithmic\"\nc = 0.8\nn0 = 5\n").schedule;
    EXPECT_DOUBLE_EQ(s.at(0), 0.8 / std::log(5.0)); // n0 = 2 alone would not tell n0 from 2
    EXPECT_DOUBLE_EQ(s.at(10), 0.8 / std::log(15.0));
    s = study_from(
            "[temperature]\nkind = \"piecewise\"\nknots = [[10, 1.0], [20, 3.0], [30, 0.5]]\n")
            .schedule;
    EXPECT_DOUBLE_EQ(s.at(0), 1.0);
    EXPECT_DOUBLE_EQ(s.at(15), 2.0);
    EXPECT_DOUBLE_EQ(s.at(25), 1.75);
    EXPECT_DOUBLE_EQ(s.at(1000), 0.5);
    EXPECT_EQ(s.table(14, 3), (std::vector<double>{1.8, 2.0, 2.2}));
    // The linear schedule spans the run by default.
    s = study_from("[run]\nsteps = 100\n[temperature]\nkind = \"linear\"\nT0 = 1\nT1 = 0\n")
            .schedule;
    EXPECT_DOUBLE_EQ(s.at(50), 0.5);
}

TEST(Schedules, BadInputIsAClearError) {
    auto has = [](const std::string &msg, const std::string &part) {
        return msg.find(part) != std::string::npos;
    };
    std::string e = error_of("[temperature]\nkind = \"logarithmic\"\nc = 0\n");
    EXPECT_TRUE(has(e, "c = 0") && has(e, "> 0")) << e;
    e = error_of("[temperature]\nkind = \"logarithmic\"\nn0 = 0.5\n");
    EXPECT_TRUE(has(e, "n0 = 0.5") && has(e, "> 1")) << e;
    e = error_of("[temperature]\nT = -1\n");
    EXPECT_TRUE(has(e, "T = -1") && has(e, ">= 0")) << e;
    e = error_of("[temperature]\nkind = \"linear\"\nT0 = 1\nT1 = -2\n");
    EXPECT_TRUE(has(e, "T1 = -2")) << e;
    e = error_of("[temperature]\nkind = \"piecewise\"\nknots = [[10, 1.0], [5, 2.0]]\n");
    EXPECT_TRUE(has(e, "knots") && has(e, "increas")) << e;
    e = error_of("[temperature]\nkind = \"logarithmic\"\nT = 1\n");
    EXPECT_TRUE(has(e, "only applies to kind = \"constant\"")) << e;
    e = error_of("[temperature]\nkind = \"geometric\"\nT0 = 1\nT1 = 0.1\nrate = 0.9\n");
    EXPECT_TRUE(has(e, "either T1 or rate")) << e;
    e = error_of("[temperature]\nkind = \"geometric\"\nT0 = 1\nrate = 1.5\n");
    EXPECT_TRUE(has(e, "rate = 1.5") && has(e, "(0, 1]")) << e;
    e = error_of("[ensemble]\ninit = \"gaussian\"\ninit_sigma = 0\n");
    EXPECT_TRUE(has(e, "init_sigma = 0") && has(e, "> 0")) << e;
    e = error_of("[run]\nsample_every = 5\nsamples = 3\n");
    EXPECT_TRUE(has(e, "either sample_every or samples")) << e;
}

class StudyLaws : public BackendTest {};

TEST_P(StudyLaws, SummariesOfAKnownStateAreExact) {
    // No steps: every walker sits at (3, 0.5, -0.2), so each summary has one exact value.
    const Study s = study_from(R"(
[ensemble]
walkers = 4096
precision = "float64"
init_point = [3.0, 0.5, -0.2]
[potential]
kind = "harmonic"
dim = 3
k = 2
[temperature]
T = 1
[histogram]
range = [[-4, 4], [0, 2], [-1, 1]]
joint = false
[run]
steps = 0
)");
    auto b = backend();
    const SampleResult x = run_study(s, *b).samples.back();
    const double at[3] = {3.0, 0.5, -0.2}; // axis 1 is centred on 1, not 0
    for (int d = 0; d < 3; ++d) {
        EXPECT_NEAR(x.mean[d], at[d], 1e-12) << d;
        EXPECT_GE(x.var[d], 0.0) << d; // never a rounding negative
        EXPECT_NEAR(x.var[d], 0.0, 1e-12) << d;
    }
    // E = (9 + 0.25 + 0.04) k / 2; Boltzmann <E> = 3T/2 and Var E = 3T^2/2, so the lag is
    // (9.29 - 1.5) / sqrt(1.5 / 4096) standard errors.
    EXPECT_NEAR(x.mean_energy, 9.29, 1e-12);
    EXPECT_NEAR(x.energy_lag_z, (9.29 - 1.5) / std::sqrt(1.5 / 4096), 1e-9 * 407);
    EXPECT_EQ(x.outside, 0u);
    // The headline comparison is the worst marginal's.
    double worst = -1, best = HUGE_VAL;
    for (const HistogramResult &h : x.histograms) {
        worst = std::max(worst, h.comparison.kl);
        best = std::min(best, h.comparison.kl);
    }
    EXPECT_EQ(x.comparison.kl, worst);
    EXPECT_GT(worst, 2 * best); // x = 3 lies far out in its marginal, -0.2 near the middle
    // A walker is outside when any coordinate is: (5, 0) lies outside [-1, 1]^2.
    const Study off = study_from(R"(
[ensemble]
walkers = 4096
init_point = [5.0, 0.0]
[potential]
kind = "harmonic"
dim = 2
[histogram]
range = [[-1, 1], [-1, 1]]
[run]
steps = 0
)");
    EXPECT_EQ(run_study(off, *b).samples.back().outside, 4096u);
    // The variance is the unbiased one (n - 1), here of 5 uniform starts.
    const Study few =
        study_from("[ensemble]\nwalkers = 5\ninit = \"uniform\"\nprecision = \"float64\"\n"
                   "[potential]\nkind = \"harmonic\"\n[run]\nsteps = 0\n");
    b->initialize(few.model, few.init, 0, few.walkers);
    WalkerState w;
    b->save(w);
    double mean = 0, ss = 0;
    for (double v : w.x)
        mean += v / 5;
    for (double v : w.x)
        ss += (v - mean) * (v - mean);
    EXPECT_NEAR(run_study(few, *b).samples.back().var[0], ss / 4, 1e-12 * ss);
}

TEST_P(StudyLaws, UniformStartsFillTheirBoxPerDimension) {
    // init_low / init_high per dimension: coordinate d is uniform on its own interval, with mean
    // (a + b) / 2 (SE sqrt(var / N)) and variance (b - a)^2 / 12 (SE var sqrt(0.8 / N): a
    // uniform's kurtosis is 9/5), and never outside it (the histogram range is the box).
    const double lo[2] = {-1.0, 2.0}, hi[2] = {3.0, 2.5};
    const std::uint64_t n = 65536;
    for (const char *precision : {"float32", "float64"}) {
        const Study s = study_from(
            R"(
[ensemble]
walkers = 65536
seed = 12
init = "uniform"
init_low = [-1.0, 2.0]
init_high = [3.0, 2.5]
[potential]
kind = "harmonic"
dim = 2
[histogram]
range = [[-1.0, 3.0], [2.0, 2.5]]
bins = 20
joint = false
[run]
steps = 0
)",
            {std::string("ensemble.precision=") + precision});
        auto b = backend();
        const SampleResult x = run_study(s, *b).samples.back();
        EXPECT_EQ(x.outside, 0u) << precision;
        for (int d = 0; d < 2; ++d) {
            const double mean = (lo[d] + hi[d]) / 2, var = (hi[d] - lo[d]) * (hi[d] - lo[d]) / 12;
            const double se_mean = std::sqrt(var / n), se_var = var * std::sqrt(0.8 / n);
            EXPECT_LT(std::fabs(x.mean[d] - mean) / se_mean, kZ) << precision << " " << d;
            EXPECT_LT(std::fabs(x.var[d] - var) / se_var, kZ) << precision << " " << d;
            // Power: the other coordinate's interval, or one 5 % wider, is rejected.
            EXPECT_GT(std::fabs(x.var[d] - var * 1.1025) / se_var, kZ) << precision << " " << d;
            const auto &counts = x.histograms[d].counts;
            EXPECT_GT(counts.front(), 0u); // both ends reached
            EXPECT_GT(counts.back(), 0u);
        }
        EXPECT_GT(std::fabs(x.mean[0] - x.mean[1]), 1.0);
    }
}

TEST_P(StudyLaws, ScheduledTemperatureFollowsEachIntegratorsExactRecursion) {
    // A linear schedule on the harmonic well k = 1 from x = 0, with each integrator's exact
    // variance recursion using T_n in step n, against the one with T_{n+1} (power: an off-by-one
    // schedule shows).
    //   Euler-Maruyama, a = 1 - dt: V_{n+1} = a^2 V_n + 2 T_n dt.
    //   Leimkuhler-Matthews, s_n = sqrt(T_n dt / 2): x_{n+1} = a x_n + s_n (xi_n + xi_{n+1}), so
    //   V_{n+1} = a^2 V_n + 2 s_n^2 + 2 a s_n Cov(x_n, xi_n), Cov = s_{n-1} (0 at n = 0).
    //   BAOAB (gamma = 1, m = 1): (x, v) maps linearly, B A, then O: v -> c v + sqrt((1 - c^2)
    //   T_n) xi, then A B; the covariance follows, from v_0 ~ N(0, T_0).
    const std::string toml = R"(
[ensemble]
walkers = 524288
seed = 4
precision = "float64"
[potential]
kind = "harmonic"
[integrator]
dt = 0.1
[temperature]
kind = "linear"
T0 = 2.0
T1 = 0.2
steps = 30
[run]
steps = 30
)";
    const double dt = 0.1, a = 1 - dt;
    const Study base = study_from(toml);
    const Schedule &at = base.schedule;
    auto em_var = [&](int shift) {
        double var = 0;
        for (int n = 0; n < 30; ++n)
            var = a * a * var + 2 * at.at(n + shift) * dt;
        return var;
    };
    auto lm_var = [&](int shift) {
        double var = 0, s_before = 0;
        for (int n = 0; n < 30; ++n) {
            const double s_n = std::sqrt(at.at(n + shift) * dt / 2);
            var = a * a * var + 2 * s_n * s_n + 2 * a * s_n * s_before;
            s_before = s_n;
        }
        return var;
    };
    auto baoab_var = [&](int shift) {
        const double h = dt, c = std::exp(-h);
        double xx = 0, xv = 0, vv = at.at(0); // v_0 ~ N(0, T_0 / m)
        auto kick = [&] {                     // v -= (h/2) x: (x, v) -> (x, v - h/2 x)
            vv = vv - h * xv + h * h / 4 * xx;
            xv = xv - h / 2 * xx;
        };
        auto drift = [&] { // x += (h/2) v
            xx = xx + h * xv + h * h / 4 * vv;
            xv = xv + h / 2 * vv;
        };
        for (int n = 0; n < 30; ++n) {
            kick();
            drift();
            xv *= c;
            vv = c * c * vv + (1 - c * c) * at.at(n + shift);
            drift();
            kick();
        }
        return xx;
    };
    auto b = backend();
    for (const auto &[integrator, variance] :
         {std::pair<const char *, std::function<double(int)>>{"euler_maruyama", em_var},
          {"leimkuhler_matthews", lm_var},
          {"baoab", baoab_var}}) {
        const Study s = study_from(toml, {std::string("integrator.kind=") + integrator});
        const RunResult r = run_study(s, *b);
        const double got = r.samples.back().var[0], exact = variance(0), shifted = variance(1);
        const double se = exact * std::sqrt(2.0 / (s.walkers - 1));
        EXPECT_LT(std::fabs(got - exact) / se, kZ) << integrator << " " << got << " vs " << exact;
        EXPECT_GT(std::fabs(got - shifted) / se, kZ)
            << integrator << " " << got << " vs " << shifted;
        EXPECT_DOUBLE_EQ(r.samples.back().temperature, s.schedule.at(29)) << integrator;
    }
}

TEST_P(StudyLaws, MeanFirstPassageTimeMatchesTheExactDoubleIntegral) {
    // The Euler-Maruyama chain's own exact MFPT, at a small step and at a large one where the
    // continuum value is far off (5.372 vs 4.607): the measurement follows the chain's.
    for (const auto [dt, steps] : {std::pair{"1e-3", "60000"}, std::pair{"0.05", "1400"}}) {
        const Study s = study_from(std::string(R"(
[ensemble]
walkers = 8192
seed = 17
init_point = -1.0
[potential]
kind = "double_well"
[temperature]
T = 0.5
[first_passage]
region = "above"
level = 0.0
)") + "[integrator]\ndt = " + dt +
                                   "\n[run]\nsamples = 7\nsteps = " + steps + "\n");
        auto b = backend();
        const RunResult r = run_study(s, *b);
        const FirstPassageResult &fp = r.first_passage;
        ASSERT_TRUE(fp.active);
        EXPECT_NEAR(fp.exact_continuum, 4.60654, 5e-5); // Gardiner §5.2.7, tau(-1 -> 0)
        EXPECT_LT(fp.censored, 10u); // 13 mean times: essentially every walker escaped
        EXPECT_LT(std::fabs(fp.mean - fp.exact) / fp.standard_error, kZ)
            << "dt " << dt << ": " << fp.mean << " +- " << fp.standard_error << " vs " << fp.exact;
        // Power: twice the friction doubles the time.
        EXPECT_GT(std::fabs(fp.mean - 2 * fp.exact) / fp.standard_error, kZ);
        if (std::string(dt) == "0.05") // and the continuum value is rejected at this step
            EXPECT_GT(std::fabs(fp.mean - fp.exact_continuum) / fp.standard_error, kZ);
        // Survival falls from 1; the passage histogram counts every walker that escaped.
        EXPECT_LT(r.samples.back().survival, r.samples.front().survival);
        std::uint64_t total = 0;
        for (auto c : fp.counts)
            total += c;
        EXPECT_EQ(total, fp.hits);
        // Kramers: 2 pi gamma / sqrt(E''(-1) |E''(0)|) e^{dE/T} = 2 pi / sqrt(8 * 4) e^2.
        EXPECT_NEAR(fp.kramers, 2 * M_PI / std::sqrt(32.0) * std::exp(2.0), 1e-4);
    }
}

TEST_P(StudyLaws, FirstPassageStepIsTheStepAfterWhichTheWalkerIsIn) {
    // At T = 0 Euler-Maruyama on k = 1, centre 1 is x_n = 1 - 0.9^n from 0 (dt = 0.1): above
    // 0.5 first after step 7 (0.9^6 = 0.53, 0.9^7 = 0.48), so every walker's time is 0.7.
    const Study s = study_from("[ensemble]\nwalkers = 4096\ninit_point = 0.0\n"
                               "[potential]\nkind = \"harmonic\"\ncentre = 1.0\n"
                               "[integrator]\ndt = 0.1\n[temperature]\nT = 0\n"
                               "[run]\nsteps = 20\nsamples = 2\n"
                               "[first_passage]\nregion = \"above\"\nlevel = 0.5\n");
    auto b = backend();
    const FirstPassageResult fp = run_study(s, *b).first_passage;
    EXPECT_EQ(fp.hits, 4096u);
    EXPECT_NEAR(fp.mean, 0.7, 1e-12);
    // In 2-D towards centre (1, -1), x_n = (1 - 0.9^n) (1, -1): coordinate 1 is below -0.5 first
    // after step 7 (coordinate 0 never is), and |x_n - (1, -1)| = 0.9^n sqrt(2) is below 0.5
    // first after step 10 (0.9^9 sqrt(2) = 0.548, 0.9^10 sqrt(2) = 0.493).
    const std::string plane = "[ensemble]\nwalkers = 4096\ninit_point = 0.0\n"
                              "[potential]\nkind = \"harmonic\"\ndim = 2\ncentre = [1.0, -1.0]\n"
                              "[integrator]\ndt = 0.1\n[temperature]\nT = 0\n"
                              "[run]\nsteps = 20\nsamples = 2\n";
    for (const auto &[target, time] :
         {std::pair{"[first_passage]\nregion = \"below\"\ncoordinate = 1\nlevel = -0.5\n", 0.7},
          std::pair{"[first_passage]\nregion = \"ball\"\ncentre = [1.0, -1.0]\nradius = 0.5\n",
                    1.0}}) {
        const FirstPassageResult fp2 = run_study(study_from(plane + target), *b).first_passage;
        EXPECT_EQ(fp2.hits, 4096u) << target;
        EXPECT_NEAR(fp2.mean, time, 1e-12) << target;
    }
}

TEST(FirstPassage, AStartInsideTheTargetHasNoReferences) {
    // x0 = 0.5 is already above the level: every walker arrives at the first check, and the
    // double integral (which would run from the other side) does not apply.
    const Study s = study_from("[ensemble]\nwalkers = 4096\ninit_point = 0.5\n"
                               "[run]\nsteps = 10\nsamples = 1\n"
                               "[first_passage]\nregion = \"above\"\nlevel = 0.0\n");
    const FirstPassageResult fp = run_study(s).first_passage;
    ASSERT_TRUE(fp.active);
    EXPECT_EQ(fp.hits, 4096u);
    EXPECT_TRUE(std::isnan(fp.exact)) << fp.exact;
    EXPECT_TRUE(std::isnan(fp.exact_continuum)) << fp.exact_continuum;
    EXPECT_TRUE(std::isnan(fp.kramers)) << fp.kramers;
}

TEST_P(StudyLaws, MeanSquareDisplacementIsEachIntegratorsExactLaw) {
    const char *toml = R"(
[ensemble]
walkers = 131072
seed = 9
[potential]
kind = "free"
dim = 3
[integrator]
dt = 0.01
friction = 0.5
[temperature]
T = 1.0
[run]
steps = 200
samples = 16
spacing = "log"
)";
    // Log-spaced samples from step 1: there Leimkuhler-Matthews' t - dt/2 is half of t.
    for (const char *integrator : {"euler_maruyama", "leimkuhler_matthews", "baoab"}) {
        std::vector<std::string> sets = {std::string("integrator.kind=") + integrator};
        if (std::string(integrator) == "baoab")
            sets.push_back("integrator.mass=1.5");
        const Study s = study_from(toml, sets);
        auto b = backend();
        const RunResult r = run_study(s, *b);
        for (const SampleResult &x : r.samples) {
            // x - x0 is Gaussian with variance sigma^2 = msd_exact / 3 per coordinate, so
            // |x - x0|^2 = sigma^2 chi^2_3: SE = sqrt(2 * 3 / N) sigma^2.
            const double sigma2 = x.msd_exact / 3;
            const double se = std::sqrt(6.0 / s.walkers) * sigma2;
            EXPECT_LT(std::fabs(x.msd - x.msd_exact) / se, kZ) << integrator << " " << x.step;
            EXPECT_GT(std::fabs(x.msd - 1.2 * x.msd_exact) / se, kZ) << integrator; // power
        }
        ASSERT_EQ(r.samples.front().step, 1u);
        if (std::string(integrator) == "leimkuhler_matthews") { // not Einstein's line
            const SampleResult &first = r.samples.front();
            const double se = std::sqrt(6.0 / s.walkers) * first.msd_exact / 3;
            EXPECT_GT(std::fabs(first.msd - first.msd_einstein) / se, kZ);
        }
        const SampleResult &last = r.samples.back();
        const double t = last.time;
        if (std::string(integrator) == "euler_maruyama") { // Einstein: 2 D (T/gamma) t
            EXPECT_DOUBLE_EQ(last.msd_exact, 2 * 3 * (1.0 / 0.5) * t);
            EXPECT_DOUBLE_EQ(last.msd_einstein, last.msd_exact);
        } else if (std::string(integrator) == "leimkuhler_matthews") { // t - dt/2
            EXPECT_DOUBLE_EQ(last.msd_exact, 2 * 3 * (1.0 / 0.5) * (t - 0.005));
        } else {
            // BAOAB tends to the Ornstein-Uhlenbeck law 2 D T/(m gamma) (t - (1 - e^-gamma t) /
            // gamma) (relative O(h^2)), far below Einstein's line at gamma t = 1.
            const double ou = 2 * 3 * (1.0 / (1.5 * 0.5)) * (t - (1 - std::exp(-0.5 * t)) / 0.5);
            EXPECT_NEAR(last.msd_exact / ou, 1.0, 1e-4);
            const double se = std::sqrt(6.0 / s.walkers) * last.msd_exact / 3;
            EXPECT_GT(std::fabs(last.msd - last.msd_einstein) / se, kZ);
        }
    }
}

TEST(FreeMotion, BaoabsClosedFormIsTheSumOverLags) {
    // <(x_n - x_0)^2> = h^2 (T/m) sum_ij w_i w_j c^|i-j|, w = (1/2, 1, ..., 1, 1/2): summed
    // directly, for the closed form and for its small-gamma t series (gamma = 1e-9).
    for (const double friction : {0.7, 5.0, 1e-9}) {
        BAOAB baoab;
        baoab.dt = 0.05;
        baoab.friction = friction;
        baoab.mass = 2.0;
        const double c = std::exp(-friction * baoab.dt);
        for (const std::uint64_t n : {1u, 2u, 3u, 10u, 300u}) {
            double sum = 0;
            for (std::uint64_t i = 0; i <= n; ++i)
                for (std::uint64_t j = 0; j <= n; ++j) {
                    const double wi = i == 0 || i == n ? 0.5 : 1.0;
                    const double wj = j == 0 || j == n ? 0.5 : 1.0;
                    sum += wi * wj * std::pow(c, std::fabs(double(i) - double(j)));
                }
            const double direct = baoab.dt * baoab.dt * 0.5 / baoab.mass * sum;
            EXPECT_NEAR(baoab.free_msd(0.5, n) / direct, 1.0, 1e-11) << friction << " " << n;
        }
        EXPECT_EQ(baoab.free_msd(0.5, 0), 0.0);
    }
}

TEST_P(StudyLaws, AnnealingFindsTheGlobalWellAndTracksTheBest) {
    const Study s = study_from(R"(
[ensemble]
walkers = 8192
seed = 3
init_point = 1.0
[potential]
kind = "double_well"
tilt = 0.25
[integrator]
dt = 0.05
[temperature]
kind = "logarithmic"
c = 1.0
[run]
steps = 20000
samples = 8
spacing = "log"
)");
    auto b = backend();
    const RunResult r = run_study(s, *b);
    const SampleResult &first = r.samples.front(), &last = r.samples.back();
    EXPECT_GT(last.global_basin_fraction, first.global_basin_fraction);
    // A fast geometric quench from the same start freezes walkers in the right well.
    const Study quench =
        study_from(s.resolved_toml, {"temperature.kind=geometric", "temperature.T0=1.4427",
                                     "temperature.T1=0.05", "temperature.steps=200"});
    const RunResult q = run_study(quench, *b);
    const double p = last.global_basin_fraction, pq = q.samples.back().global_basin_fraction;
    const double se = std::sqrt(p * (1 - p) / s.walkers + pq * (1 - pq) / s.walkers);
    EXPECT_GT(p - pq, kZ * se) << "log " << p << " vs quench " << pq;
    EXPECT_TRUE(std::isfinite(last.global_basin_boltzmann));
    // best_energy never rises and sits near the global minimum E(-1.03) = -0.2573.
    for (std::size_t k = 1; k < r.samples.size(); ++k)
        EXPECT_LE(r.samples[k].best_energy, r.samples[k - 1].best_energy);
    EXPECT_NEAR(last.best_energy, -0.2573, 0.01);
    EXPECT_NEAR(last.best_position[0], -1.03, 0.1);
    EXPECT_TRUE(std::isfinite(last.energy_lag_z));
}

TEST_P(StudyLaws, InterruptedAndResumedRunIsBitwiseIdentical) {
    const std::string toml = R"(
[ensemble]
walkers = 12288
chunk = 4096
seed = 77
init = "gaussian"
init_sigma = 0.5
[potential]
kind = "double_well"
tilt = 0.25
[integrator]
kind = "leimkuhler_matthews"
dt = 0.01
[temperature]
kind = "geometric"
T0 = 1.0
T1 = 0.2
[run]
steps = 600
samples = 5
[first_passage]
region = "below"
level = -0.5
[output]
checkpoint_every = 100
)";
    const Study s = study_from(toml);
    auto b = backend();
    const RunResult whole = run_study(s, *b);
    const std::string path = ::testing::TempDir() + "resume_" + GetParam() + ".h5.partial";
    // The run asks after each stepping call (a segment with its samples) whether to stop; how
    // long its segments are depends on the wall time they take. So the stop is armed by the run's
    // own state: the first call after the checkpoint at step `armed_at` of chunk `chunk` stops
    // it, before that chunk's step 600 (checkpoints every 100 steps cap the segment).
    const std::pair<std::uint64_t, std::uint64_t> stops[] = {{0, 100}, {1, 300}, {2, 400}};
    for (const auto &[chunk, armed_at] : stops) {
        bool armed = false;
        RunHooks hooks;
        hooks.checkpoint = [&, chunk = chunk, armed_at = armed_at](const RunState &st) {
            write_checkpoint(path, s, st);
            armed = armed || (st.chunk == chunk && st.step == armed_at);
        };
        hooks.interrupted = [&] { return armed; };
        try {
            run_study(s, *b, hooks);
            ADD_FAILURE() << "not interrupted in chunk " << chunk;
        } catch (const Interrupted &e) {
            const std::string where = "of chunk " + std::to_string(chunk);
            EXPECT_NE(std::string(e.what()).find(where), std::string::npos) << e.what();
            EXPECT_EQ(std::string(e.what()).find("at step " + std::to_string(armed_at) + " "),
                      std::string::npos)
                << e.what(); // stopped after the checkpoint, with steps to go
        }
        Checkpoint cp = read_checkpoint(path); // the HDF5 round trip
        EXPECT_EQ(cp.study.resolved_json, s.resolved_json);
        auto b2 = backend();
        const RunResult resumed = run_study(cp.study, *b2, {}, &cp.state);
        expect_same_results(whole, resumed);
    }
    std::remove(path.c_str());
}

TEST_P(StudyLaws, InterruptedAfterItsStepsARunResumesBitwise) {
    // The Boltzmann references (and the trajectories) can take long, in the run and after its
    // last step; an interruption there must act at once and leave a checkpoint from which the
    // run resumes bitwise. Logistic regression (20 points, 2-D): joint histogram and moments.
    const std::string toml = R"(
[ensemble]
walkers = 8192
chunk = 4096
seed = 5
[potential]
kind = "logistic_regression"
[data]
n = 20
[integrator]
kind = "euler_maruyama"
dt = 0.01
[temperature]
T = 0.02
[run]
steps = 200
sample_every = 10
[histogram]
bins = 24
[output]
trajectories = 2
trajectory_every = 50
)";
    const Study s = study_from(toml);
    auto b = backend();
    const RunResult whole = run_study(s, *b);
    ASSERT_TRUE(whole.samples.back().comparison.available);
    ASSERT_FALSE(std::isnan(whole.samples.back().boltzmann_mean_energy));
    const std::string path = ::testing::TempDir() + "late_stop_" + GetParam() + ".h5.partial";
    struct Case {
        const char *name, *what, *where;
        bool in_run; // progress summaries: the references are computed during the run
        bool summarise;
    };
    // In the run: the hook says stop from its first call, which a progress summary of the first
    // segment (16 steps, samples every 10) makes from within the references. After the last step
    // (armed by the progress report of all steps done): the references, else (summarise = false)
    // the trajectories. No checkpoint_every: only the interruption writes a checkpoint.
    for (const Case &c :
         {Case{"in the run", "Boltzmann references", "at step 16 of chunk 0", true, true},
          Case{"after", "Boltzmann references", "after the last step", false, true},
          Case{"trajectories", "trajectories", "after the last step", false, false}}) {
        SCOPED_TRACE(c.name);
        std::remove(path.c_str());
        std::atomic<bool> armed{c.in_run}, said{false};
        std::atomic<int> asked_after{0}; // calls after the hook first said stop
        RunHooks hooks;
        hooks.progress = [&](double done, double total, double, const SampleResult *) {
            if (done == total)
                armed = true;
        };
        hooks.progress_summaries = c.in_run;
        hooks.summarise = c.summarise;
        hooks.checkpoint = [&](const RunState &st) { write_checkpoint(path, s, st); };
        // Called by the references' threads at once: each may ask once more before it sees the
        // first stop.
        hooks.interrupted = [&] {
            if (said)
                ++asked_after;
            if (armed)
                said = true;
            return said.load();
        };
        try {
            run_study(s, *b, hooks);
            ADD_FAILURE() << "not interrupted";
        } catch (const Interrupted &e) {
            EXPECT_NE(std::string(e.what()).find(c.what), std::string::npos) << e.what();
            EXPECT_NE(std::string(e.what()).find(c.where), std::string::npos) << e.what();
        }
        EXPECT_TRUE(said);
        EXPECT_LT(asked_after, omp_get_max_threads())
            << "the run went on after it was told to stop";
        Checkpoint cp = read_checkpoint(path);
        auto b2 = backend();
        const RunResult resumed = run_study(cp.study, *b2, {}, &cp.state);
        expect_same_results(whole, resumed);
        EXPECT_EQ(resumed.samples.back().comparison.kl, whole.samples.back().comparison.kl);
        EXPECT_EQ(resumed.samples.back().boltzmann_mean_energy,
                  whole.samples.back().boltzmann_mean_energy);
    }
    std::remove(path.c_str());

    // summarise = false (MPI ranks): no samples, the accumulators that give the whole run's, and
    // (progress_summaries = false) no summary in the progress reports.
    RunHooks quiet;
    quiet.summarise = false;
    quiet.progress_summaries = false;
    bool summarised = false, reported = false;
    quiet.progress = [&](double, double, double, const SampleResult *latest) {
        reported = true;
        summarised = summarised || latest;
    };
    RunResult bare = run_study(s, *b, quiet);
    EXPECT_TRUE(reported);
    EXPECT_FALSE(summarised);
    EXPECT_TRUE(bare.samples.empty());
    summarise_run(s, bare.accumulators, bare);
    expect_same_results(whole, bare);
    EXPECT_EQ(bare.samples.back().comparison.kl, whole.samples.back().comparison.kl);

    // Progress summaries (the default) when the first segments hold no sample: none until one
    // is taken, and the last report shows the last sample.
    const Study sparse = study_from(toml, {"run.sample_every=100"});
    RunHooks shown;
    SampleResult last_shown;
    shown.progress = [&](double, double, double, const SampleResult *latest) {
        if (latest)
            last_shown = *latest;
    };
    const RunResult sparse_run = run_study(sparse, *b, shown);
    EXPECT_EQ(last_shown.step, 200u);
    EXPECT_EQ(last_shown.comparison.kl, sparse_run.samples.back().comparison.kl);

    // The references the progress summaries computed serve a later summary of the same study
    // (MPI rank 0's merge): at one T, it computes nothing again (the hook is never polled).
    RunHooks keep = shown;
    keep.summarise = false;
    keep.references = make_reference_cache(sparse);
    RunResult kept = run_study(sparse, *b, keep);
    std::atomic<int> polls{0};
    const auto count = [&] {
        ++polls;
        return false;
    };
    RunResult fresh = kept;
    summarise_run(sparse, kept.accumulators, kept, count, keep.references.get());
    EXPECT_EQ(polls, 0);
    expect_same_results(sparse_run, kept);
    EXPECT_EQ(kept.samples.back().comparison.kl, sparse_run.samples.back().comparison.kl);
    summarise_run(sparse, fresh.accumulators, fresh, count);
    EXPECT_GT(polls, 0);
    EXPECT_EQ(fresh.samples.back().comparison.kl, sparse_run.samples.back().comparison.kl);
}

TEST_P(StudyLaws, ShardsMergeToTheSingleRunBitwise) {
    // 7 moment blocks (the last one short) with chunks of 2 blocks: shard and chunk edges differ.
    const Study s = study_from(R"(
[ensemble]
walkers = 27000
chunk = 8192
seed = 31
init = "gaussian"
init_sigma = 0.3
[potential]
kind = "double_well"
tilt = 0.25
[integrator]
kind = "euler_maruyama"
dt = 0.01
[temperature]
kind = "logarithmic"
c = 0.5
[run]
steps = 300
samples = 4
[first_passage]
region = "below"
level = -0.5
[output]
trajectories = 3
trajectory_every = 100
)");
    auto b = backend();
    const RunResult whole = run_study(s, *b);
    for (std::uint64_t k : {2u, 3u, 9u}) { // 9 shards: two of them are empty
        std::vector<ShardFile> shards;
        for (std::uint64_t i = k; i-- > 0;) { // merged in reverse order
            Study part = s;
            part.shard = {i, k};
            shards.push_back({"shard " + std::to_string(i), part, run_study(part, *b)});
        }
        Study merged_study;
        const RunResult merged = merge_shards(shards, &merged_study);
        SCOPED_TRACE(k);
        expect_same_results(whole, merged);
        EXPECT_EQ(merged.samples.back().comparison.kl, whole.samples.back().comparison.kl);
        EXPECT_EQ(merged.first_passage.hits, whole.first_passage.hits);
        // Without the shard that holds walker 0 (shard 0 is empty when k = 9): a gap.
        shards.erase(std::find_if(shards.begin(), shards.end(), [](const ShardFile &f) {
            return f.result.range.begin == 0 && f.result.range.end > 0;
        }));
        EXPECT_THROW(merge_shards(shards, &merged_study), Error);
    }
    // A shard that stopped after its first sample (as an MPI rank whose walkers diverged):
    // refused unless allowed, and then only the sample every shard reached is merged.
    std::vector<ShardFile> shards;
    for (std::uint64_t i = 0; i < 2; ++i) {
        Study part = s;
        part.shard = {i, 2};
        shards.push_back({"shard " + std::to_string(i), part, run_study(part, *b)});
    }
    RunResult &stopped = shards[1].result;
    stopped.stopped = true;
    stopped.stop_reason = "walkers became non-finite";
    for (std::size_t k = 1; k < stopped.accumulators.size(); ++k)
        stopped.accumulators[k] = Accumulator{};
    Study merged_study;
    EXPECT_THROW(merge_shards(shards, &merged_study), Error);
    const RunResult partial = merge_shards(shards, &merged_study, true);
    EXPECT_TRUE(partial.stopped);
    ASSERT_EQ(partial.samples.size(), 1u);
    EXPECT_EQ(partial.samples[0].histograms[0].counts, whole.samples[0].histograms[0].counts);
}

TEST_P(StudyLaws, TrajectoriesAreTheEnsemblesOwnWalkers) {
    const Study s = study_from(R"(
[ensemble]
walkers = 5000
seed = 5
init = "uniform"
[potential]
kind = "free"
dim = 2
[integrator]
dt = 0.01
[run]
steps = 120
[output]
trajectories = 3
trajectory_every = 50
)");
    auto b = backend();
    const RunResult r = run_study(s, *b);
    const Trajectories &tr = r.trajectories;
    ASSERT_EQ(tr.steps, (std::vector<std::uint64_t>{0, 50, 100, 120}));
    ASSERT_EQ(tr.positions.size(), 4u * 3 * 2);
    // The last record equals walkers 0..2 of the ensemble after 120 steps, bitwise.
    b->initialize(s.model, s.init, 0, s.walkers);
    b->advance(s.model, 0, 120, s.schedule.table(0, 120));
    WalkerState w;
    b->save(w);
    for (std::uint64_t i = 0; i < 3; ++i)
        for (int d = 0; d < 2; ++d)
            EXPECT_EQ(tr.positions[(3 * 3 + i) * 2 + d], w.x[d * s.walkers + i]);
}

LGV_INSTANTIATE_BACKENDS(StudyLaws);

TEST(Output, ResultsFileIsWrittenAtomically) {
    const Study s =
        study_from("[ensemble]\nwalkers = 4096\n[run]\nsteps = 20\nsample_every = 10\n");
    const RunResult r = run_study(s);
    const std::string path = ::testing::TempDir() + "results.h5";
    auto bytes = [](const std::string &file) {
        std::ifstream in(file, std::ios::binary);
        return std::string(std::istreambuf_iterator<char>(in), {});
    };
    write_results(path, s, r);
    const std::string written = bytes(path);
    ASSERT_GT(written.size(), 1000u);
    EXPECT_EQ(std::fopen((path + ".tmp").c_str(), "rb"), nullptr);
    // A write that fails half-way (a sample's mean one value too long: caught at the "mean"
    // dataset, after the metadata and a dozen series) leaves the earlier file exactly as it was
    // and no temporary behind.
    RunResult broken = r;
    broken.samples.at(1).mean.push_back(0.5);
    EXPECT_THROW(write_results(path, s, broken), Error);
    EXPECT_EQ(bytes(path), written);
    EXPECT_EQ(std::fopen((path + ".tmp").c_str(), "rb"), nullptr);
    std::remove(path.c_str());
    EXPECT_THROW(write_results("/nonexistent/dir/x.h5", s, r), Error);
}

TEST(Output, DamagedOrEditedCheckpointsAndShardsAreRefused) {
    const char *toml = R"(
[ensemble]
walkers = 10000
chunk = 4096
[potential]
kind = "double_well"
[run]
steps = 300
samples = 3
[first_passage]
level = 0.5
[output]
checkpoint_every = 150
)";
    const Study s = study_from(toml);
    // The state at step 150 of chunk 1: samples 0 done, walkers in progress.
    RunState kept;
    RunHooks hooks;
    hooks.checkpoint = [&](const RunState &st) {
        if (st.chunk == 1 && st.step == 150)
            kept = st;
    };
    run_study(s, hooks);
    ASSERT_EQ(kept.next_sample, 1u);
    ASSERT_FALSE(kept.walkers.x.empty());
    EXPECT_NO_THROW(check_stored_state(s, kept, "cp"));
    // An MPI rank's starting checkpoint: nothing done, no samples.
    EXPECT_NO_THROW(check_stored_state(s, RunState{}, "cp"));
    auto refused = [&](const Study &study, const RunState &st, const std::string &part) {
        try {
            check_stored_state(study, st, "cp");
            ADD_FAILURE() << "accepted; want '" << part << "'";
        } catch (const Error &e) {
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
        }
    };
    RunState bad = kept;
    bad.step = 301;
    refused(s, bad, "cp: step 301 is past the study's 300 (the file is damaged or was edited)");
    bad.next_sample = 3; // past every sample: only the step check can refuse it
    refused(s, bad, "cp: step 301 is past the study's 300");
    bad = kept;
    bad.next_sample = 2; // sample 1 is at step 200, after step 150
    refused(s, bad, "its next sample 2 does not follow step 150");
    bad = kept;
    bad.chunk = 4; // chunks 0, 1, 2 hold the 10000 walkers
    refused(s, bad, "chunk 4 is past the last");
    bad.walkers = WalkerState{}; // between chunks: only the chunk check can refuse it
    bad.step = 0;
    bad.next_sample = 0;
    refused(s, bad, "chunk 4 is past the last");
    bad = kept;
    bad.chunk_walkers = 5;
    refused(s, bad, "its chunk size 5 does not fit the 10000 walkers");
    bad = kept;
    bad.walkers.x.pop_back();
    refused(s, bad, "its walkers do not fit chunk 1 (4096 walkers, 1-D)");
    bad = kept;
    bad.walkers.hit.clear();
    refused(s, bad, "its walkers do not fit chunk 1");
    bad = kept;
    bad.samples.pop_back();
    refused(s, bad, "holds 2 samples; its study has 3");
    bad.samples.clear(); // no samples is only an MPI rank's untouched starting state
    refused(s, bad, "holds 0 samples; its study has 3");
    bad = kept;
    bad.samples[0].basins.push_back(0);
    refused(s, bad, "sample 0's totals do not fit its study");
    // Counts edited in place (shapes kept): the histograms, the first-passage counts and the
    // moment sums' finite count must each count the same walkers.
    bad = kept;
    bad.samples[0].marginal[5] += 1000000000;
    refused(s, bad, "cp: sample 0's counts do not add up: ");
    bad = kept;
    bad.samples[0].passage[1] += 1;
    refused(s, bad, "the first-passage histogram does not count the ");
    bad = kept;
    const std::size_t nonfinite_slot = std::size_t(s.grid.axes[0].bins) + 1;
    const std::size_t busy =
        std::size_t(std::find_if(bad.samples[0].marginal.begin(), bad.samples[0].marginal.end(),
                                 [](std::uint64_t c) { return c > 0; }) -
                    bad.samples[0].marginal.begin());
    ASSERT_LT(busy, nonfinite_slot);
    --bad.samples[0].marginal[busy]; // a finite walker made non-finite: the same total
    ++bad.samples[0].marginal[nonfinite_slot];
    refused(s, bad, "the moment sums count ");
    bad = kept;
    bad.samples[0].marginal[busy] = ~std::uint64_t(0);
    refused(s, bad, "its histogram's counts overflow");
    // The same state against a study with other bins, another dimension, or no target.
    refused(study_from(toml, {"histogram.bins=99"}), kept, "sample 0's totals do not fit");
    refused(study_from(
                toml, {"potential.kind=harmonic", "potential.dim=2", "first_passage.coordinate=1"}),
            kept, "sample 0's totals do not fit");
    // Read from files: a checkpoint and a shard whose stored study was edited.
    const std::string path = ::testing::TempDir() + "edited.h5";
    const Study other = study_from(toml, {"histogram.bins=99"});
    write_checkpoint(path, other, kept);
    EXPECT_THROW(read_checkpoint(path), Error);
    Study shard = s;
    shard.shard = Shard{1, 2};
    const RunResult part = run_study(shard);
    write_results(path, shard, part);
    EXPECT_NO_THROW(read_shard(path));
    // One walker more at sample 1, everywhere (histogram, first passage, finite count): the
    // counts add up, but not to the shard's walkers.
    RunResult more = part;
    Accumulator &a = more.accumulators[1];
    ++a.marginal[std::size_t(s.grid.axes[0].bins) / 2];
    ++a.passage[0];
    a.sums[0].add(1.0);
    write_results(path, shard, more);
    try {
        read_shard(path);
        ADD_FAILURE() << "a shard counting one walker too many was accepted";
    } catch (const Error &e) {
        const std::uint64_t own = part.range.end - part.range.begin;
        EXPECT_NE(std::string(e.what()).find("sample 1's counts do not add up: it counts " +
                                             std::to_string(own + 1) +
                                             " walkers; the file's run has " + std::to_string(own)),
                  std::string::npos)
            << e.what();
    }
    // A sample emptied in a finished shard (as if never reached).
    RunResult gap = part;
    gap.accumulators[2] = Accumulator{};
    write_results(path, shard, gap);
    try {
        read_shard(path);
        ADD_FAILURE() << "a finished shard with an empty sample was accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("sample 2 holds no totals"), std::string::npos)
            << e.what();
    }
    Study edited = other;
    edited.shard = shard.shard;
    write_results(path, edited, part);
    EXPECT_THROW(read_shard(path), Error);
    std::remove(path.c_str());
}

TEST(Output, UnreadableFilesAreRefusedWithTheReason) {
    // Missing, not HDF5, truncated, or an HDF5 file without what its kind holds: each error
    // names the file and why.
    const std::string dir = ::testing::TempDir();
    auto refusal = [](const std::function<void()> &read) {
        try {
            read();
        } catch (const Error &e) {
            return std::string(e.what());
        }
        return std::string("accepted");
    };
    const std::string junk = dir + "junk.h5", cut = dir + "cut.h5", empty = dir + "empty.h5";
    std::ofstream(junk) << "not hdf5 at all\n";
    const Study s = study_from("[ensemble]\nwalkers = 4096\n[run]\nsteps = 10\nsamples = 2\n");
    Study shard = s;
    shard.shard = Shard{0, 2};
    write_results(cut, shard, run_study(shard));
    std::filesystem::resize_file(cut, std::filesystem::file_size(cut) / 2);
    h5::File::create(empty).root().attr("x", 1.0); // HDF5, but no langevin groups
    EXPECT_EQ(refusal([&] { read_shard(dir + "missing.h5"); }),
              dir + "missing.h5: cannot open it (No such file or directory)");
    EXPECT_EQ(refusal([&] { read_checkpoint(junk); }), junk + ": not an HDF5 file");
    EXPECT_EQ(refusal([&] { read_shard(cut); }),
              cut + ": HDF5 cannot open it (is it truncated or damaged?)");
    EXPECT_EQ(refusal([&] { read_checkpoint(empty); }),
              empty + ": not a langevin checkpoint (no /checkpoint group)");
    // A group the file's own counters promise, missing: named, with the file.
    write_results(empty, shard, run_study(shard));
    const hid_t f = H5Fopen(empty.c_str(), H5F_ACC_RDWR, H5P_DEFAULT);
    ASSERT_GE(f, 0);
    EXPECT_GE(H5Ldelete(f, "/shard/totals/sample_1", H5P_DEFAULT), 0);
    H5Fclose(f);
    EXPECT_EQ(refusal([&] { read_shard(empty); }),
              empty + ": opening group sample_1 failed (the file is damaged or was edited)");
    for (const std::string &p : {junk, cut, empty})
        std::remove(p.c_str());
}

TEST(Output, NumbersAreScalarAttributesAndOneElementArraysStillRead) {
    const std::string path = ::testing::TempDir() + "attributes.h5";
    {
        h5::File f = h5::File::create(path);
        f.root().attr("seed", std::uint64_t{2024});
        f.root().attr("dt", 0.01);
        f.root().attr("old_seed", std::vector<std::int32_t>{7}); // as files before scalars
        f.root().attr("pair", std::vector<std::int32_t>{1, 2});
    }
    const h5::File f = h5::File::open(path);
    auto rank_of = [&](const char *name) {
        const hid_t a = H5Aopen(f.root().id(), name, H5P_DEFAULT);
        const hid_t space = H5Aget_space(a);
        const int rank = H5Sget_simple_extent_ndims(space);
        H5Sclose(space);
        H5Aclose(a);
        return rank;
    };
    EXPECT_EQ(rank_of("seed"), 0); // rank 0: a scalar, not a 1-element array
    EXPECT_EQ(rank_of("dt"), 0);
    EXPECT_EQ(f.root().attr_u64("seed"), 2024u);
    EXPECT_EQ(f.root().attr_double("dt"), 0.01);
    EXPECT_EQ(f.root().attr_u64("old_seed"), 7u);
    EXPECT_THROW(f.root().attr_u64("pair"), Error); // two numbers never read as one
    std::remove(path.c_str());
}
