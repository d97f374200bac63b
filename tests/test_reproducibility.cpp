// Bitwise reproducibility: a walker's trajectory depends on (seed, walker id, initial state,
// model, schedule) only, never on chunking, threads, block sizes, or how steps are split.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>

#include "cpu_normals.hpp"
#include "langevin/advance.hpp"
#include "test_support.hpp"

using namespace langevin;
using test::BackendTest;
using test::ScopedEnv;
using test::study_from;

namespace {

const char *kDoubleWell = R"(
[ensemble]
walkers = 20000
seed = 11
init = "uniform"
[potential]
kind = "double_well"
tilt = 0.25
[integrator]
kind = "euler_maruyama"
dt = 0.01
[temperature]
T = 0.5
[run]
steps = 200
sample_every = 50
[histogram]
bins = 40
range = [-2, 2]
)";

struct State {
    std::vector<double> x, v;
};

State run_state(Backend &b, const Study &s, std::uint64_t first, std::uint64_t count,
                const std::vector<std::uint64_t> &splits) {
    b.initialize(s.model, s.init, first, count);
    std::uint64_t step = 0;
    for (std::uint64_t n : splits) {
        b.advance(s.model, step, n, s.schedule.table(step, n));
        step += n;
    }
    WalkerState w;
    b.save(w);
    return State{w.x, w.v};
}

void expect_same_samples(const RunResult &a, const RunResult &b) {
    ASSERT_EQ(a.samples.size(), b.samples.size());
    for (std::size_t k = 0; k < a.samples.size(); ++k) {
        const SampleResult &p = a.samples[k], &q = b.samples[k];
        EXPECT_EQ(p.mean, q.mean) << "sample " << k; // bitwise: operator== on doubles
        EXPECT_EQ(p.var, q.var);
        EXPECT_EQ(p.mean_energy, q.mean_energy);
        EXPECT_EQ(p.outside, q.outside);
        EXPECT_EQ(p.nonfinite, q.nonfinite);
        ASSERT_EQ(p.histograms.size(), q.histograms.size());
        for (std::size_t h = 0; h < p.histograms.size(); ++h)
            EXPECT_EQ(p.histograms[h].counts, q.histograms[h].counts);
        ASSERT_EQ(p.basins.size(), q.basins.size());
        for (std::size_t b2 = 0; b2 < p.basins.size(); ++b2)
            EXPECT_EQ(p.basins[b2].empirical, q.basins[b2].empirical);
        EXPECT_EQ(p.msd, q.msd);
        EXPECT_EQ(p.hits, q.hits);
        EXPECT_EQ(std::memcmp(&p.survival, &q.survival, sizeof(double)), 0);
        EXPECT_EQ(p.finite, q.finite);
        EXPECT_EQ(p.best_energy, q.best_energy);
        EXPECT_EQ(p.best_position, q.best_position);
        // NaN for overdamped dynamics, where == would fail: compare the bits.
        EXPECT_EQ(std::memcmp(&p.kinetic_temperature, &q.kinetic_temperature, sizeof(double)), 0);
    }
    EXPECT_EQ(a.first_passage.hits, b.first_passage.hits);
    EXPECT_EQ(a.first_passage.censored, b.first_passage.censored);
    EXPECT_EQ(a.first_passage.counts, b.first_passage.counts);
    EXPECT_EQ(std::memcmp(&a.first_passage.mean, &b.first_passage.mean, sizeof(double)), 0);
}

/// Every integrator, both precisions.
const std::vector<std::vector<std::string>> kVariants = {
    {"integrator.kind=euler_maruyama", "ensemble.precision=float32"},
    {"integrator.kind=leimkuhler_matthews", "ensemble.precision=float32"},
    {"integrator.kind=baoab", "ensemble.precision=float32"},
    {"integrator.kind=euler_maruyama", "ensemble.precision=float64"},
    {"integrator.kind=leimkuhler_matthews", "ensemble.precision=float64"},
    {"integrator.kind=baoab", "ensemble.precision=float64"},
};

} // namespace

class Reproducibility : public BackendTest {};

TEST_P(Reproducibility, SplittingStepsAcrossCallsChangesNothing) {
    // The double well, and the forces with the most inlined call sites (where a contracted
    // multiply-add once made BAOAB depend on the split): Rastrigin D = 8 and Muller-Brown.
    const std::vector<std::vector<std::string>> models = {
        {},
        {"potential.kind=rastrigin", "potential.dim=8", "integrator.dt=1e-3"},
        {"potential.kind=muller_brown", "integrator.dt=1e-4", "temperature.T=10",
         "ensemble.init=gaussian", "ensemble.init_point=[-0.5, 1.4]", "ensemble.init_sigma=0.2"},
    };
    for (const auto &model : models)
        for (auto variant : kVariants) {
            variant.insert(variant.end(), model.begin(), model.end());
            const Study s = study_from(kDoubleWell, variant);
            auto b = backend();
            const State whole = run_state(*b, s, 0, 5000, {300});
            const State split = run_state(*b, s, 0, 5000, {1, 99, 7, 193});
            const std::string what = ::testing::PrintToString(variant);
            EXPECT_TRUE(std::all_of(whole.x.begin(), whole.x.end(), [](double x) {
                return std::isfinite(x);
            })) << what; // == on vectors would fail on NaN
            EXPECT_EQ(whole.x, split.x) << what;
            EXPECT_EQ(whole.v, split.v) << what;
        }
}

TEST_P(Reproducibility, Walker17AloneEqualsWalker17InAMillion) {
    for (const auto &variant : kVariants) {
        const Study s = study_from(kDoubleWell, variant);
        auto b = backend();
        const State alone = run_state(*b, s, 17, 1, {25, 25});
        const std::uint64_t n = 1000000;
        const State crowd = run_state(*b, s, 0, n, {50});
        EXPECT_EQ(alone.x[0], crowd.x[17]) << variant[0] << " " << variant[1];
        EXPECT_EQ(alone.v[0], crowd.v[17]) << variant[0] << " " << variant[1];
    }
}

TEST_P(Reproducibility, ChunkSizesChangeNothing) {
    for (const auto &variant : kVariants) {
        // With a first-passage target, so hit steps and survival are compared too.
        std::vector<std::string> with_target = variant;
        with_target.push_back("first_passage.region=below");
        with_target.push_back("first_passage.level=-0.5");
        Study s = study_from(kDoubleWell, with_target);
        auto b = backend();
        s.chunk = 0; // one chunk
        const RunResult one = run_study(s, *b);
        EXPECT_EQ(one.chunks, 1u);
        EXPECT_GT(one.first_passage.hits, 0u); // the comparisons below are not vacuous
        EXPECT_GT(one.samples.back().hits, 0u);
        for (std::uint64_t chunk : {4096u, 12288u}) {
            s.chunk = chunk;
            const RunResult many = run_study(s, *b);
            EXPECT_GT(many.chunks, 1u);
            expect_same_samples(one, many);
        }
        // Chunks also change nothing in 2-D (joint histograms, Muller-Brown basins).
        Study mb = study_from(R"(
[ensemble]
walkers = 9000
init = "gaussian"
init_point = [-0.5, 1.4]
init_sigma = 0.2
[potential]
kind = "muller_brown"
[integrator]
dt = 1e-4
[temperature]
T = 15
[run]
steps = 100
sample_every = 50
[histogram]
bins = [30, 30]
)",
                              {variant[0], variant[1]});
        const RunResult mb_one = run_study(mb, *b);
        mb.chunk = 4096;
        expect_same_samples(mb_one, run_study(mb, *b));
    }
}

TEST_P(Reproducibility, ThreadCountsAndBlockSizesChangeNothing) {
    std::vector<std::vector<std::string>> variants = kVariants;
    if (GetParam() != "cpu") {
        // Kernels with more than 64 registers a thread cannot run 1024 threads a block (more
        // than 128: not 512): they run with the most they can, and with the same results.
        variants.push_back({"integrator.kind=baoab", "ensemble.precision=float64",
                            "potential.kind=rastrigin", "potential.dim=10"});
        variants.push_back({"integrator.kind=euler_maruyama", "ensemble.precision=float32",
                            "potential.kind=muller_brown", "integrator.dt=1e-4", "temperature.T=10",
                            "ensemble.init=point", "ensemble.init_point=[-0.5, 1.5]",
                            "first_passage.region=above", "first_passage.level=-0.45"});
    }
    for (const auto &variant : variants) {
        const Study s = study_from(kDoubleWell, variant);
        std::vector<BackendOptions> options;
        if (GetParam() == "cpu")
            for (int t : {1, 2, 3})
                options.push_back(BackendOptions{t, 0, 0});
        else
            for (int bs : {32, 64, 256, 512, 1024})
                options.push_back(BackendOptions{0, bs, 0});
        auto first = backend(options[0]);
        const State ref = run_state(*first, s, 0, 20000, {120});
        const RunResult ref_run = run_study(s, *first);
        for (std::size_t k = 1; k < options.size(); ++k) {
            auto b = backend(options[k]);
            const State other = run_state(*b, s, 0, 20000, {120});
            EXPECT_EQ(ref.x, other.x) << ::testing::PrintToString(variant) << " option " << k;
            EXPECT_EQ(ref.v, other.v) << ::testing::PrintToString(variant) << " option " << k;
            expect_same_samples(ref_run, run_study(s, *b));
        }
    }
}

namespace {
/// Calls f(isa, backend) with a CPU backend running each instruction set this processor has
/// (LANGEVIN_CPU_ISA; one it lacks must be refused) and returns how many it ran.
template <class F> int for_each_cpu_isa(F &&f) {
    int ran = 0;
    for (const char *isa : {"portable", "avx2", "avx512"}) {
        std::unique_ptr<Backend> b;
        try {
            const ScopedEnv setting("LANGEVIN_CPU_ISA", isa);
            b = make_backend("cpu");
        } catch (const Error &e) {
            EXPECT_NE(std::string(e.what()).find("this processor runs at most"), std::string::npos)
                << e.what();
            continue;
        }
        EXPECT_NE(b->device().find(std::string(isa) + " code"), std::string::npos) << b->device();
        f(std::string(isa), *b);
        ++ran;
    }
    return ran;
}
} // namespace

TEST(CpuBackend, EveryInstructionSetGivesTheSameTrajectories) {
    // LANGEVIN_CPU_ISA picks the vector code of the CPU backend's normals and steps (a tuning
    // knob): every choice this processor runs gives the same walkers bitwise, in both precisions
    // and with D = 1, 2, 3, 8 and 10 (lanes of one, two, three, eight and ten normals a step),
    // also where the force takes host_math's exp, sin and cos (Muller-Brown float32, Rastrigin,
    // Ackley float64).
    const std::vector<std::vector<std::string>> variants = {
        {"integrator.kind=euler_maruyama", "ensemble.precision=float32"},
        {"integrator.kind=baoab", "ensemble.precision=float64"},
        {"integrator.kind=leimkuhler_matthews", "ensemble.precision=float64",
         "potential.kind=muller_brown", "integrator.dt=1e-4", "temperature.T=10",
         "ensemble.init=point", "ensemble.init_point=[-0.5, 1.5]"},
        {"integrator.kind=euler_maruyama", "ensemble.precision=float32", "potential.kind=rastrigin",
         "potential.dim=8"},
        {"integrator.kind=baoab", "ensemble.precision=float32", "potential.kind=muller_brown",
         "integrator.dt=1e-4", "temperature.T=10", "ensemble.init=point",
         "ensemble.init_point=[-0.5, 1.5]"},
        {"integrator.kind=leimkuhler_matthews", "ensemble.precision=float64",
         "potential.kind=rastrigin", "potential.dim=3"},
        {"integrator.kind=baoab", "ensemble.precision=float32", "potential.kind=styblinski_tang",
         "potential.dim=10", "integrator.dt=1e-3"},
        {"integrator.kind=euler_maruyama", "ensemble.precision=float64", "potential.kind=ackley",
         "potential.dim=2"},
    };
    const int compared = for_each_cpu_isa([&](const std::string &isa, Backend &b) {
        for (const auto &variant : variants) {
            const Study s = study_from(kDoubleWell, variant);
            const ScopedEnv unset("LANGEVIN_CPU_ISA", nullptr); // the reference: the widest
            auto widest = make_backend("cpu");
            const State ref = run_state(*widest, s, 0, 3001, {61});
            const State other = run_state(b, s, 0, 3001, {61});
            EXPECT_EQ(ref.x, other.x) << isa << " " << ::testing::PrintToString(variant);
            EXPECT_EQ(ref.v, other.v) << isa << " " << ::testing::PrintToString(variant);
        }
    });
    // The widest is also compared with itself: fewer than two is no comparison at all.
    if (compared < 2)
        GTEST_SKIP() << "this processor runs " << compared << " instruction set(s) of the CPU "
                     << "backend: nothing to compare";
    std::printf("compared %d other instruction set(s) with the widest\n", compared - 1);
}

TEST(CpuBackend, ObservedEnergiesAreEachWalkersPotentialEnergy) {
    // observe() takes the energies of kLanes walkers at a time in vector code. The moment sum of
    // E, the finite count and the best walker must be those of each walker's own energy, summed in
    // walker order per moment block, bitwise, with every instruction set. A walker made NaN is
    // left out. Blocks from walker 4096, the last one a partial tile.
    const std::vector<std::vector<std::string>> variants = {
        {"potential.kind=muller_brown", "ensemble.precision=float32", "integrator.dt=1e-4",
         "temperature.T=10", "ensemble.init=point", "ensemble.init_point=[-0.5, 1.5]"},
        {"potential.kind=muller_brown", "ensemble.precision=float64", "integrator.dt=1e-4",
         "temperature.T=10", "ensemble.init=point", "ensemble.init_point=[-0.5, 1.5]"},
        {"potential.kind=rastrigin", "potential.dim=8", "ensemble.precision=float32"},
        {"potential.kind=ackley", "potential.dim=2", "ensemble.precision=float64"},
        {"potential.kind=styblinski_tang", "potential.dim=10", "ensemble.precision=float64",
         "integrator.dt=1e-3"},
        {"potential.kind=logistic_regression", "ensemble.precision=float32"},
        {"ensemble.precision=float64"},
    };
    const std::uint64_t first = kMomentBlock, count = 2 * kMomentBlock + 37, nan_walker = 5;
    const int compared = for_each_cpu_isa([&](const std::string &isa, Backend &b) {
        for (const auto &variant : variants) {
            const Study s = study_from(kDoubleWell, variant);
            const std::string what = isa + " " + ::testing::PrintToString(variant);
            b.initialize(s.model, s.init, first, count);
            b.advance(s.model, 0, 50, s.schedule.table(0, 50));
            WalkerState w;
            b.save(w);
            w.x[nan_walker] = NAN;
            b.load(s.model, first, w);
            ObserveSpec spec;
            spec.grid = s.grid;
            spec.init = s.init;
            const Observation o = b.observe(s.model, spec);

            ExactSum finite, energy;
            Best best;
            visit_potential(s.model, [&](const auto &pot, auto t, auto Dc) {
                using T = decltype(t);
                constexpr int D = decltype(Dc)::value;
                for (std::uint64_t i0 = 0; i0 < count; i0 += kMomentBlock) {
                    double n = 0, sum = 0;
                    for (std::uint64_t i = i0; i < std::min(count, i0 + kMomentBlock); ++i) {
                        Vec<T, D> x;
                        bool ok = true;
                        for (int d = 0; d < D; ++d) {
                            x[d] = T(w.x[d * count + i]);
                            ok = ok && std::isfinite(x[d]);
                        }
                        if (!ok)
                            continue;
                        const double e = double(pot.energy(x));
                        n += 1;
                        sum += e;
                        best.consider(e, first + i);
                    }
                    finite.add(n);
                    energy.add(sum);
                }
            });
            EXPECT_EQ(finite.value(), double(count - 1)) << what;
            EXPECT_TRUE(o.moment_sums[0] == finite) << what;
            EXPECT_TRUE(o.moment_sums[1] == energy) << what;
            EXPECT_EQ(o.best.energy, best.energy) << what;
            EXPECT_EQ(o.best.walker, best.walker) << what;
        }
    });
    EXPECT_GE(compared, 1);
}

TEST(CpuBackend, StartsAreInitWalkersAndObserveRedrawsThemBitwise) {
    // initialize() draws a tile's starts at once (batched Philox), and observe() redraws each
    // walker's start x0 for the mean-square displacement the same way. Checked per instruction
    // set, for uniform and gaussian starts in both precisions, D = 1, 3 and 8 (one to four
    // cuRAND calls a walker), from walker 4096 with a partial last tile:
    // - each walker's start is init_walker's (cuRAND's host code): uniform positions bitwise,
    //   normals within a few ulp (the batched Box-Muller);
    // - every instruction set gives the same bits;
    // - after 20 steps, the observed sum of |x - x0|^2 is bitwise the one from the saved start,
    //   summed per moment block in walker order (x0 redrawn otherwise would change it).
    const std::vector<std::vector<std::string>> variants = {
        {"ensemble.init=uniform", "ensemble.precision=float32"},
        {"ensemble.init=uniform", "ensemble.precision=float64", "integrator.kind=baoab"},
        {"ensemble.init=gaussian", "ensemble.init_point=0.5", "ensemble.init_sigma=0.3",
         "ensemble.precision=float32", "integrator.kind=baoab"},
        {"ensemble.init=gaussian", "ensemble.precision=float64"},
        {"ensemble.init=uniform", "ensemble.precision=float32", "potential.kind=rastrigin",
         "potential.dim=3", "integrator.kind=baoab"},
        {"ensemble.init=gaussian", "ensemble.precision=float64", "potential.kind=rastrigin",
         "potential.dim=3", "integrator.kind=baoab"},
        {"ensemble.init=gaussian", "ensemble.precision=float32", "potential.kind=rastrigin",
         "potential.dim=8"},
        {"ensemble.init=uniform", "ensemble.precision=float64", "potential.kind=rastrigin",
         "potential.dim=8", "integrator.kind=baoab"},
    };
    const std::uint64_t first = kMomentBlock, count = 2 * kMomentBlock + 37;
    std::vector<WalkerState> reference(variants.size());
    int moving = 0; // variants with velocities drawn (underdamped)
    const int compared = for_each_cpu_isa([&](const std::string &isa, Backend &b) {
        for (std::size_t k = 0; k < variants.size(); ++k) {
            const Study s = study_from(kDoubleWell, variants[k]);
            const std::string what = isa + " " + ::testing::PrintToString(variants[k]);
            b.initialize(s.model, s.init, first, count);
            WalkerState start;
            b.save(start);
            if (reference[k].x.empty()) {
                reference[k] = start;
            } else {
                EXPECT_EQ(start.x, reference[k].x) << what;
                EXPECT_EQ(start.v, reference[k].v) << what;
            }
            const bool gaussian = s.init.kind == InitSpec::Kind::gaussian;
            moving += s.init.velocity_sigma > 0 ? 1 : 0;
            visit_potential(s.model, [&](const auto &, auto t, auto Dc) {
                using T = decltype(t);
                constexpr int D = decltype(Dc)::value;
                // |batched - cuRAND host| for a normal n (Rng.CpuBatchedNormalsAreCurandNormal4
                // and ...2Double), scaled by the map, plus the map's rounding to T.
                const auto normal_tolerance = [](double n) {
                    return std::is_same_v<T, float> ? 4e-7 * (1 + std::fabs(n))
                                                    : 7e-15 + 1e-15 * std::fabs(n);
                };
                const double eps = std::numeric_limits<T>::epsilon();
                for (std::uint64_t i = 0; i < count; ++i) {
                    Vec<T, D> x, v;
                    init_walker(s.init, s.model.seed, first + i, x, v);
                    for (int d = 0; d < D; ++d) {
                        const double ours = start.x[d * count + i], ref = double(x[d]);
                        const double sigma = s.init.sigma[d];
                        if (gaussian)
                            EXPECT_NEAR(ours, ref,
                                        sigma * normal_tolerance((ref - s.init.point[d]) / sigma) +
                                            eps * std::fabs(ref))
                                << what << " walker " << i << " x" << d;
                        else
                            EXPECT_EQ(ours, ref) << what << " walker " << i << " x" << d;
                        const double vel = start.v[d * count + i], vref = double(v[d]);
                        const double vs = s.init.velocity_sigma;
                        EXPECT_NEAR(vel, vref,
                                    vs * normal_tolerance(vref / (vs > 0 ? vs : 1)) +
                                        eps * std::fabs(vref))
                            << what << " walker " << i << " v" << d;
                    }
                    if (::testing::Test::HasFailure())
                        return;
                }
                b.advance(s.model, 0, 20, s.schedule.table(0, 20));
                WalkerState w;
                b.save(w);
                ExactSum msd;
                for (std::uint64_t i0 = 0; i0 < count; i0 += kMomentBlock) {
                    double sum = 0;
                    for (std::uint64_t i = i0; i < std::min(count, i0 + kMomentBlock); ++i) {
                        double m = 0;
                        for (int d = 0; d < D; ++d) {
                            const double u =
                                double(T(w.x[d * count + i])) - double(T(start.x[d * count + i]));
                            m = d == 0 ? u * u : m + u * u;
                        }
                        sum += m;
                    }
                    msd.add(sum);
                }
                ObserveSpec spec;
                spec.grid = s.grid;
                spec.init = s.init;
                const Observation o = b.observe(s.model, spec);
                EXPECT_GT(msd.value(), 0.0) << what;
                EXPECT_TRUE(o.moment_sums[moment::msd(D)] == msd)
                    << what << ": " << o.moment_sums[moment::msd(D)].value() << " vs "
                    << msd.value();
            });
        }
    });
    EXPECT_GE(compared, 1);
    EXPECT_EQ(moving, 5 * compared);
}

TEST(CpuBackend, ObservedBasinsAreEachWalkersBasin) {
    // observe() runs Muller-Brown's basin descents kLanes side by side, each lane taking the
    // next walker when its descent ends. The basin counts must be those of each walker's own
    // basin(), with every instruction set, in both precisions: walkers spread over the default
    // range and beyond (most descend, some for all 200 steps), a few far out where the force
    // overflows, one NaN walker (not counted); from walker 4096, with a partial last tile.
    const std::uint64_t first = kMomentBlock, count = 2 * kMomentBlock + 37, nan_walker = 5;
    std::mt19937_64 gen(3);
    std::uniform_real_distribution<double> x(-2.0, 1.7), y(-1.0, 2.5);
    std::vector<double> xs(2 * count);
    for (std::uint64_t i = 0; i < count; ++i) {
        xs[i] = x(gen);
        xs[count + i] = y(gen);
    }
    xs[11] = 40.0; // E's fourth term overflows: the descent's steps turn non-finite
    xs[count + 12] = -45.0;
    xs[nan_walker] = NAN;
    const int compared = for_each_cpu_isa([&](const std::string &isa, Backend &b) {
        for (const char *precision : {"ensemble.precision=float32", "ensemble.precision=float64"}) {
            const Study s = study_from(kDoubleWell, {"potential.kind=muller_brown", precision});
            const std::string what = isa + " " + precision;
            WalkerState w;
            w.x = xs;
            w.v.assign(xs.size(), 0.0);
            b.load(s.model, first, w);
            ObserveSpec spec;
            spec.grid = s.grid;
            spec.init = s.init;
            const Observation o = b.observe(s.model, spec);
            std::vector<std::uint64_t> want(3, 0);
            std::uint64_t descended = 0;
            visit_potential(s.model, [&](const auto &pot, auto t, auto) {
                using T = decltype(t);
                if constexpr (std::is_same_v<std::decay_t<decltype(pot)>, MullerBrown>) {
                    for (std::uint64_t i = 0; i < count; ++i) {
                        const Vec<T, 2> p{{T(xs[i]), T(xs[count + i])}};
                        if (!std::isfinite(p[0]) || !std::isfinite(p[1]))
                            continue;
                        ++want[pot.basin(p)];
                        descended += pot.descent_end(Vec<double, 2>{{p[0], p[1]}}, 0) < 0;
                    }
                }
            });
            EXPECT_EQ(o.basins, want) << what;
            EXPECT_GT(descended, count / 2) << what;
        }
    });
    EXPECT_GE(compared, 1);
}

/// Normals of one walker from the CPU backend's batched generator: lane 0 of a batch that starts
/// at that walker (a step-group source for advance_walker_from).
template <class T> struct LaneZeroNormals {
    std::uint64_t key, walker, group;
    int group_calls;
    std::vector<T> batch;
    template <int N> void fill_group(Vec<T, N> &out) {
        batch.resize(std::size_t(cpu::kLanes) * NormalsPerCall<T>::value * group_calls);
        cpu::philox_normals(key, walker, group * group_calls, group_calls, batch.data(),
                            cpu::Isa::portable);
        for (int q = 0; q < N; ++q)
            out[q] = batch[std::size_t(q) * cpu::kLanes];
        ++group;
    }
    template <int N> void fill_last_group(Vec<T, N> &out) { fill_group(out); }
};

TEST(CpuBackend, TilesStepEachWalkerAsTheOneWalkerCodeDoes) {
    // The backend steps 16 walkers in lockstep from a shared buffer of normals; every walker must
    // end exactly where advance_walker_from() (the code the GPU runs per thread) puts it when fed
    // that walker's own normals in stream order. A lane reading its neighbour's normals, normals
    // permuted within a step group, or a lookahead slot primed from the wrong step changes bits
    // here while the statistics and the CPU's own reproducibility stay intact.
    const std::vector<std::vector<std::string>> potentials = {
        {"potential.kind=double_well", "first_passage.region=below", "first_passage.level=-0.5"},
        {"potential.kind=muller_brown", "integrator.dt=1e-4", "temperature.T0=12",
         "temperature.T1=8", "ensemble.init=point", "ensemble.init_point=[-0.5, 1.5]"},
        {"potential.kind=harmonic", "potential.dim=3", "temperature.kind=constant",
         "temperature.T=0.5"},
        {"potential.kind=rastrigin", "potential.dim=8", "integrator.dt=0.001",
         "temperature.kind=constant", "temperature.T=0.5"},
        {"potential.kind=styblinski_tang", "potential.dim=10", "integrator.dt=0.001"},
    };
    const char *toml = "[ensemble]\nseed = 77\ninit = \"gaussian\"\ninit_sigma = 0.5\n"
                       "[integrator]\ndt = 0.01\n[temperature]\nkind = \"geometric\"\nT0 = 1\n"
                       "T1 = 0.2\n";
    const std::uint64_t first = 4294967290ull, count = 37; // a partial last tile, ids past 2^32
    const std::vector<std::uint64_t> splits = {3, 61, 257, 1};
    for (const char *precision : {"float64", "float32"})
        for (const char *integrator : {"euler_maruyama", "leimkuhler_matthews", "baoab"})
            for (std::vector<std::string> sets : potentials) {
                sets.push_back(std::string("ensemble.precision=") + precision);
                sets.push_back(std::string("integrator.kind=") + integrator);
                const Study s = study_from(toml, sets);
                auto b = make_backend("cpu");
                b->initialize(s.model, s.init, first, count);
                WalkerState start, got;
                b->save(start);
                std::uint64_t steps = 0;
                for (std::uint64_t n : splits) {
                    b->advance(s.model, steps, n, s.schedule.table(steps, n));
                    steps += n;
                }
                b->save(got);
                WalkerState want = start;
                const std::vector<double> kT = s.schedule.table(0, steps);
                visit_model(s.model, [&](const auto &pot, const auto &integ, auto t, auto Dc) {
                    using T = decltype(t);
                    constexpr int D = decltype(Dc)::value;
                    using Integ = std::decay_t<decltype(integ)>;
                    if constexpr (!is_minibatch<Integ>) {
                        using Layout = NormalLayout<T, D>;
                        std::vector<typename Integ::template Coeffs<T>> coeffs;
                        for (double k : kT)
                            coeffs.push_back(step_coefficients<T>(integ, k, 0));
                        const bool varying = coeffs.size() > 1; // else one constant T
                        for (std::uint64_t i = 0; i < count; ++i) {
                            Vec<T, D> x, v;
                            for (int d = 0; d < D; ++d) {
                                x[d] = T(start.x[d * count + i]);
                                v[d] = T(start.v[d * count + i]);
                            }
                            std::uint64_t hit = start.hit.empty() ? kNotHit : start.hit[i];
                            std::uint64_t step = 0;
                            for (std::uint64_t n : splits) {
                                LaneZeroNormals<T> normals{s.model.seed,
                                                           first + i,
                                                           step / Layout::group_steps,
                                                           Layout::group_calls,
                                                           {}};
                                advance_walker_from(integ, pot,
                                                    coeffs.data() + (varying ? step : 0), varying,
                                                    s.model.target, x, v, hit, normals, step, n);
                                step += n;
                            }
                            for (int d = 0; d < D; ++d) {
                                want.x[d * count + i] = double(x[d]);
                                want.v[d * count + i] = double(v[d]);
                            }
                            if (!want.hit.empty())
                                want.hit[i] = hit;
                        }
                    }
                });
                const std::string what = ::testing::PrintToString(sets);
                EXPECT_EQ(got.x, want.x) << what;
                EXPECT_EQ(got.v, want.v) << what;
                EXPECT_EQ(got.hit, want.hit) << what;
                if (!got.hit.empty())
                    EXPECT_GT(std::count_if(got.hit.begin(), got.hit.end(),
                                            [](std::uint64_t h) { return h != kNotHit; }),
                              0)
                        << what; // the target is reached: hit steps are compared too
            }
}

TEST(CpuBackend, RefusesAnUnknownInstructionSet) {
    for (const char *value : {"", "AVX2", "sse2", "avx-512", "avx2 "}) {
        const ScopedEnv setting("LANGEVIN_CPU_ISA", value);
        try {
            make_backend("cpu");
            ADD_FAILURE() << "accepted LANGEVIN_CPU_ISA = \"" << value << "\"";
        } catch (const Error &e) {
            EXPECT_EQ(
                std::string(e.what()),
                "LANGEVIN_CPU_ISA = \"" + std::string(value) +
                    "\": want avx512, avx2 or portable (unset: the widest this processor runs)");
        }
    }
}

TEST_P(Reproducibility, ObservingWhileSteppingEqualsStepThenObserve) {
    // advance_and_observe (CUDA: queued at once, observed on a second stream from a double
    // buffer) against advance() + observe() at each sample: every integrator and precision, an
    // annealing schedule (per-step coefficients) with a first-passage target (hit steps), samples
    // at adjacent steps, and steps after the last sample.
    std::vector<std::vector<std::string>> variants = kVariants;
    variants.push_back({"integrator.kind=baoab", "temperature.kind=geometric", "temperature.T0=1",
                        "temperature.T1=0.2", "first_passage.region=below",
                        "first_passage.level=-0.5"});
    variants.push_back({"integrator.kind=leimkuhler_matthews", "ensemble.precision=float64",
                        "temperature.kind=logarithmic", "temperature.c=1",
                        "first_passage.region=above", "first_passage.level=0.8"});
    const std::vector<std::uint64_t> at = {1, 2, 50, 51, 96, 144};
    const std::uint64_t steps = 200, walkers = 9000, first_step = 3;
    for (const auto &variant : variants) {
        const Study s = study_from(kDoubleWell, variant);
        std::string what;
        for (const auto &v : variant)
            what += v + " ";
        ObserveSpec spec;
        spec.grid = s.grid;
        spec.init = s.init;
        if (s.model.target.active())
            spec.passage = Axis{0.0, double(steps + first_step) + 1e-9, 20};
        auto b = backend();
        // Starts at step 3 (not a normal-group boundary) from a stepped state.
        b->initialize(s.model, s.init, 4096, walkers);
        b->advance(s.model, 0, first_step, s.schedule.table(0, first_step));
        const std::vector<Observation> queued = b->advance_and_observe(
            s.model, first_step, steps, s.schedule.table(first_step, steps), spec, at);
        WalkerState after_queued;
        b->save(after_queued);

        b->initialize(s.model, s.init, 4096, walkers);
        b->advance(s.model, 0, first_step, s.schedule.table(0, first_step));
        std::uint64_t step = first_step;
        ASSERT_EQ(queued.size(), at.size()) << what;
        for (std::size_t k = 0; k <= at.size(); ++k) {
            const std::uint64_t to = first_step + (k < at.size() ? at[k] : steps);
            b->advance(s.model, step, to - step, s.schedule.table(step, to - step));
            step = to;
            if (k < at.size())
                test::expect_same_observation(queued[k], b->observe(s.model, spec),
                                              what + "sample " + std::to_string(k));
        }
        WalkerState after_steps;
        b->save(after_steps);
        EXPECT_EQ(after_queued.x, after_steps.x) << what;
        EXPECT_EQ(after_queued.v, after_steps.v) << what;
        EXPECT_EQ(after_queued.hit, after_steps.hit) << what;
        // The samples differ from each other (the test would not notice a stale buffer else).
        EXPECT_NE(queued[0].marginal, queued.back().marginal) << what;
    }
    // Offsets must increase within [1, n_steps].
    const Study s = study_from(kDoubleWell);
    auto b = backend();
    b->initialize(s.model, s.init, 0, 4096);
    ObserveSpec spec;
    spec.grid = s.grid;
    for (const std::vector<std::uint64_t> &bad :
         std::vector<std::vector<std::uint64_t>>{{0}, {5, 5}, {11}, {7, 3}})
        EXPECT_THROW(b->advance_and_observe(s.model, 0, 10, s.schedule.table(0, 10), spec, bad),
                     Error);
}

TEST_P(Reproducibility, SeedsChangeTrajectories) {
    const Study s = study_from(kDoubleWell);
    const Study t = study_from(kDoubleWell, {"ensemble.seed=12"});
    auto b = backend();
    EXPECT_NE(run_state(*b, s, 0, 100, {10}).x, run_state(*b, t, 0, 100, {10}).x);
}

LGV_INSTANTIATE_BACKENDS(Reproducibility);
