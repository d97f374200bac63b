// CUDA-only checks: the device draws the golden integer stream bitwise, the CUDA backend agrees
// with the CPU backend (positions to float tolerance, histograms statistically), and its queued
// sampling equals sampling in turn on millions of walkers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <initializer_list>
#include <optional>
#include <sstream>
#include <tuple>
#include <utility>

#include <cuda_runtime.h>

#include "../kernels/cuda_launch.cuh"
#include "langevin/rng.hpp"
#include "langevin/stats.hpp"
#include "test_support.hpp"

using namespace langevin;
using test::ScopedEnv;

namespace {

void require_device() {
    std::string why;
    if (!backend_available("cuda", &why)) {
        if (test::cuda_required())
            FAIL() << "LANGEVIN_REQUIRE_CUDA=1 but no CUDA device: " << why;
        GTEST_SKIP() << why;
    }
}

__global__ void draw_words(const unsigned long long *rows, int n, unsigned *out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    WalkerRng rng(rows[3 * i], rows[3 * i + 1], rows[3 * i + 2]);
    const uint4 w = rng.words();
    out[4 * i] = w.x;
    out[4 * i + 1] = w.y;
    out[4 * i + 2] = w.z;
    out[4 * i + 3] = w.w;
}

__global__ void sin_2pi(const float *x, int n, float *out) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = lgv_sin_2pi(x[i]);
}

/// Counts the words whose Box-Muller radius differs (bitwise) from sqrtf(-2 logf(u)), and the
/// words checked.
__global__ void radius_mismatches(unsigned long long *mismatches, unsigned *first,
                                  unsigned long long *checked) {
    unsigned long long mine = 0;
    for (std::uint64_t w = blockIdx.x * std::uint64_t(blockDim.x) + threadIdx.x;
         w < (std::uint64_t(1) << 32); w += std::uint64_t(gridDim.x) * blockDim.x) {
        const float u = __fmaf_rn(float(unsigned(w)), CURAND_2POW32_INV, CURAND_2POW32_INV / 2);
        const float a = sqrtf(-2.0f * logf(u)), b = detail::box_muller_radius(u);
        if (__float_as_uint(a) != __float_as_uint(b)) {
            atomicAdd(mismatches, 1ull);
            atomicMin(first, unsigned(w));
        }
        ++mine;
    }
    atomicAdd(checked, mine);
}

/// Every bad value of the environment variable makes `run` throw an Error that names the
/// variable (before anything is queued); the variable is put back as it was afterwards.
void expect_refused(const char *variable, std::initializer_list<const char *> bad,
                    const std::function<void()> &run) {
    for (const char *value : bad) {
        const ScopedEnv setting(variable, value);
        try {
            run();
            ADD_FAILURE() << "accepted " << variable << " = \"" << value << "\"";
        } catch (const Error &e) {
            EXPECT_NE(std::string(e.what()).find(variable), std::string::npos) << e.what();
        }
    }
}

} // namespace

TEST(Gpu, BoxMullerRadiusIsSqrtf) {
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    unsigned long long *d_count, *d_checked;
    unsigned *d_first;
    ASSERT_EQ(cudaMalloc(&d_count, 8), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&d_checked, 8), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&d_first, 4), cudaSuccess);
    cudaMemset(d_count, 0, 8);
    cudaMemset(d_checked, 0, 8);
    cudaMemset(d_first, 0xff, 4);
    radius_mismatches<<<4096, 256>>>(d_count, d_first, d_checked);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    unsigned long long count = 0, checked = 0;
    unsigned first = 0;
    cudaMemcpy(&count, d_count, 8, cudaMemcpyDeviceToHost);
    cudaMemcpy(&checked, d_checked, 8, cudaMemcpyDeviceToHost);
    cudaMemcpy(&first, d_first, 4, cudaMemcpyDeviceToHost);
    cudaFree(d_count);
    cudaFree(d_checked);
    cudaFree(d_first);
    EXPECT_EQ(checked, std::uint64_t(1) << 32); // the kernel ran, over every word
    EXPECT_EQ(count, 0u) << "first differing word " << first;
}

TEST(Gpu, FastSineOfTwoPiXStaysWithinItsBound) {
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    // A dense sweep of [-8, 8], the points where sin(2 pi x) is 0 or +-1, and large arguments.
    std::vector<float> xs;
    for (int i = 0; i <= (1 << 22); ++i)
        xs.push_back(-8.0f + 16.0f * float(i) / float(1 << 22));
    for (float q = -8; q <= 8; q += 0.25f)
        for (float eps : {-2e-6f, -1e-6f, 0.0f, 1e-6f, 2e-6f})
            xs.push_back(q + eps);
    for (float big : {1e3f + 0.3f, 1e5f + 0.25f, 4194303.5f, 8388608.0f, 1e9f, -1e6f - 0.7f})
        xs.push_back(big);
    const int n = int(xs.size());
    float *d_x, *d_out;
    ASSERT_EQ(cudaMalloc(&d_x, n * 4), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&d_out, n * 4), cudaSuccess);
    cudaMemcpy(d_x, xs.data(), n * 4, cudaMemcpyHostToDevice);
    sin_2pi<<<(n + 255) / 256, 256>>>(d_x, n, d_out);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<float> got(n);
    cudaMemcpy(got.data(), d_out, n * 4, cudaMemcpyDeviceToHost);
    cudaFree(d_x);
    cudaFree(d_out);
    double worst = 0, worst_x = 0;
    for (int i = 0; i < n; ++i) {
        const double x = xs[i], r = x - std::nearbyint(x); // exact
        const double error = std::abs(double(got[i]) - std::sin(6.283185307179586 * r));
        if (error > worst) {
            worst = error;
            worst_x = x;
        }
    }
    EXPECT_LT(worst, kSin2piFastError) << "at x = " << worst_x;
    std::printf("lgv_sin_2pi float32: worst |error| %.3g at x = %.9g over %d points\n", worst,
                worst_x, n);
}

TEST(Gpu, DeviceDrawsTheGoldenIntegerStream) {
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    std::ifstream in(LGV_SOURCE_DIR "/data/golden/philox_words.txt");
    ASSERT_TRUE(in);
    std::vector<unsigned long long> keys;
    std::vector<unsigned> expected;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream s(line);
        unsigned long long a, b, c;
        unsigned w[4];
        s >> a >> b >> c >> w[0] >> w[1] >> w[2] >> w[3];
        keys.insert(keys.end(), {a, b, c});
        expected.insert(expected.end(), w, w + 4);
    }
    const int n = int(keys.size() / 3);
    ASSERT_GE(n, 10) << "rows in data/golden/philox_words.txt"; // as the host's test
    unsigned long long *d_keys;
    unsigned *d_out;
    ASSERT_EQ(cudaMalloc(&d_keys, keys.size() * 8), cudaSuccess);
    ASSERT_EQ(cudaMalloc(&d_out, expected.size() * 4), cudaSuccess);
    cudaMemcpy(d_keys, keys.data(), keys.size() * 8, cudaMemcpyHostToDevice);
    draw_words<<<(n + 63) / 64, 64>>>(d_keys, n, d_out);
    ASSERT_EQ(cudaGetLastError(), cudaSuccess);
    ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
    std::vector<unsigned> got(expected.size());
    cudaMemcpy(got.data(), d_out, got.size() * 4, cudaMemcpyDeviceToHost);
    cudaFree(d_keys);
    cudaFree(d_out);
    EXPECT_EQ(got, expected);
}

TEST(Gpu, PositionsAgreeWithTheCpuOverShortRuns) {
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    const std::vector<std::vector<std::string>> cases = {
        {"potential.kind=double_well", "integrator.kind=euler_maruyama"},
        {"potential.kind=double_well", "integrator.kind=leimkuhler_matthews"},
        {"potential.kind=double_well", "integrator.kind=baoab"},
        {"potential.kind=muller_brown", "integrator.kind=euler_maruyama", "integrator.dt=1e-5",
         "temperature.T=10", "ensemble.init_point=[-0.5, 1.4]"},
        {"potential.kind=rastrigin", "potential.dim=8", "integrator.kind=baoab",
         "integrator.dt=0.001"},
        // SGD: mini-batch indices from the same Philox words, data read from the device copy.
        {"potential.kind=sine_fit", "integrator.kind=sgd", "integrator.batch=4",
         "integrator.lr=0.1"},
        {"potential.kind=logistic_regression", "integrator.kind=sgd", "integrator.batch=8",
         "integrator.lr=0.1", "integrator.lr_schedule=geometric"},
        {"potential.kind=linear_regression", "integrator.kind=euler_maruyama"},
    };
    for (const auto &c : cases)
        for (const char *precision : {"float32", "float64"}) {
            std::vector<std::string> sets = c;
            sets.push_back(std::string("ensemble.precision=") + precision);
            sets.push_back("ensemble.walkers=8192");
            sets.push_back("ensemble.init=gaussian");
            sets.push_back("ensemble.init_sigma=0.3");
            if (sets[0] != "potential.kind=muller_brown")
                sets.push_back("ensemble.init_point=0.2");
            const Study s =
                test::study_from("[integrator]\ndt = 0.01\n[temperature]\nT = 0.5\n", sets);
            WalkerState c_state, g_state;
            auto cpu = make_backend("cpu");
            auto gpu = make_backend("cuda");
            for (Backend *b : {cpu.get(), gpu.get()}) {
                b->initialize(s.model, s.init, 0, s.walkers);
                b->advance(s.model, 0, 100, s.schedule.table(0, 100));
            }
            cpu->save(c_state);
            gpu->save(g_state);
            const std::vector<double> &xc = c_state.x, &xg = g_state.x;
            ASSERT_EQ(xc.size(), xg.size());
            const bool f32 = std::string(precision) == "float32";
            std::vector<double> diff(xc.size());
            for (std::size_t i = 0; i < xc.size(); ++i)
                diff[i] = std::fabs(xc[i] - xg[i]) / (1 + std::fabs(xc[i]));
            std::sort(diff.begin(), diff.end());
            if (f32 && c[0] == "potential.kind=sine_fit") {
                // sine_fit amplifies float32 rounding near its loss maxima: on the CPU, moving
                // sinf/cosf by one ulp in half of the calls moved the worst of these 8192 walkers
                // by 5e-4 after 100 steps (99th percentile 8e-7), and CUDA's sinf/cosf differ
                // from glibc's by up to 2 ulp (an H200 gave a worst of 3.4e-3). A wrong
                // mini-batch stream or data copy moves nearly every walker by O(0.1): compare
                // the 99th percentile. The float64 case is compared walker by walker.
                EXPECT_LT(diff[diff.size() * 99 / 100], 1e-4) << c[0] << " " << precision;
            } else {
                // The backends' normals differ by at most 4e-7 (float32) and 7e-15 relative
                // (float64), and their libms by a few ulp; 100 steps amplify those differences
                // but not to a noise step, sqrt(2 T dt) = 0.1 here, which a wrong stream, step
                // or force moves nearly every walker by.
                EXPECT_LT(diff.back(), f32 ? 1e-3 : 1e-9)
                    << c[0] << " " << c[1] << " " << precision;
            }
        }
}

TEST(Gpu, HistogramsAgreeStatisticallyWithTheCpu) {
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    // Different seeds on the two backends: a two-sample chi^2 test of homogeneity.
    const std::string toml = R"(
[ensemble]
walkers = 131072
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
steps = 2000
[histogram]
bins = 40
range = [-2, 2]
)";
    auto cpu = make_backend("cpu");
    auto gpu = make_backend("cuda");
    const RunResult a = run_study(test::study_from(toml, {"ensemble.seed=1"}), *cpu);
    const RunResult b = run_study(test::study_from(toml, {"ensemble.seed=2"}), *gpu);
    const auto &ca = a.samples.back().histograms[0].counts;
    const auto &cb = b.samples.back().histograms[0].counts;
    double chi2 = 0;
    int dof = -1;
    for (std::size_t i = 0; i < ca.size(); ++i) {
        const double n = double(ca[i]) + double(cb[i]);
        if (n < 10)
            continue;
        const double e = n / 2; // equal sample sizes
        chi2 += (ca[i] - e) * (ca[i] - e) / e + (cb[i] - e) * (cb[i] - e) / e;
        ++dof;
    }
    EXPECT_GT(chi2_survival(chi2, dof), 1e-6) << chi2 << " / " << dof;
    EXPECT_EQ(b.backend, "cuda");
}

TEST(Gpu, ObservationsOfOneStateAgreeWithTheCpus) {
    // The same walkers (stepped on the CPU, a few made non-finite) loaded into both backends give
    // the same counts bitwise (warps with one bin and with many, basins tallied in registers,
    // joint histograms in shared and in global memory, passage times, non-finite slots), the same
    // best walker and position, and the same integer moments (finite and hit counts, sums of hit
    // steps and their squares: integers below 2^53, exact in any order). The other moments are
    // sums of doubles that each backend adds in its own fixed order within a block of 4096
    // walkers (bitwise reproducible per backend, not across them): the nonnegative ones
    // (|v|^2, u_d^2) agree to 1e-12 relative (a 4096-term sum in double is within
    // 4096 * 2^-53 = 4.5e-13 of its exact value on each side); a walker counted twice or missed
    // moves them by ~1e-4. |x - x0|^2 takes each backend's own start x0, redrawn from the seed:
    // Gaussian starts are normals, a few ulp apart across backends by design, so the GPU's sum is
    // compared, to the same 1e-12, with the one from the starts its own initialize() draws. The
    // signed sums and the energies (each backend's exp and sin) are left to the statistical
    // tests. 9000 walkers: the last block of walkers ends inside a warp.
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    const std::vector<std::vector<std::string>> cases = {
        {"potential.kind=double_well", "ensemble.init=point", "ensemble.init_point=-1"},
        {"potential.kind=double_well", "integrator.kind=baoab", "ensemble.precision=float64",
         "ensemble.init=gaussian", "ensemble.init_point=0.2", "ensemble.init_sigma=0.5",
         "first_passage.region=above", "first_passage.level=0.5"},
        {"potential.kind=muller_brown", "integrator.dt=1e-4", "temperature.T=15",
         "ensemble.init=gaussian", "ensemble.init_point=[-0.5, 1.4]", "ensemble.init_sigma=0.2",
         "histogram.bins=[30, 30]"},
        {"potential.kind=muller_brown", "integrator.dt=1e-4", "temperature.T=15",
         "integrator.kind=leimkuhler_matthews", "ensemble.init=point",
         "ensemble.init_point=[-0.5, 1.4]", "histogram.bins=[1000, 1000]"},
        {"potential.kind=rastrigin", "potential.dim=8", "ensemble.init=gaussian",
         "ensemble.init_point=0.2", "ensemble.init_sigma=0.5"},
    };
    const std::uint64_t walkers = 9000;
    for (const auto &c : cases)
        for (std::uint64_t steps : {0u, 40u}) {
            std::vector<std::string> sets = c;
            sets.push_back("ensemble.walkers=9000");
            const Study s =
                test::study_from("[integrator]\ndt = 0.01\n[temperature]\nT = 0.5\n", sets);
            std::string what = std::to_string(steps) + " steps:";
            for (const auto &v : c)
                what += " " + v;
            auto cpu = make_backend("cpu");
            auto gpu = make_backend("cuda");
            WalkerState gpu_start;
            gpu->initialize(s.model, s.init, 4096, walkers);
            gpu->save(gpu_start);
            cpu->initialize(s.model, s.init, 4096, walkers);
            cpu->advance(s.model, 0, steps, s.schedule.table(0, steps));
            WalkerState state;
            cpu->save(state);
            if (steps > 0) // NaN, +inf and -inf walkers, one of them in the last warp
                for (std::uint64_t i : {5u, 4100u, 8999u})
                    state.x[i] = i == 5 ? NAN : (i == 4100 ? HUGE_VAL : -HUGE_VAL);
            ObserveSpec spec{s.grid, s.init, Axis{0, 1, 0}};
            if (s.model.target.active())
                spec.passage = Axis{0.0, double(steps) + 1, 10};
            cpu->load(s.model, 4096, state);
            gpu->load(s.model, 4096, state);
            const Observation g = gpu->observe(s.model, spec), h = cpu->observe(s.model, spec);
            EXPECT_EQ(g.marginal, h.marginal) << what;
            EXPECT_EQ(g.joint, h.joint) << what;
            EXPECT_EQ(g.basins, h.basins) << what;
            EXPECT_EQ(g.passage, h.passage) << what;
            EXPECT_EQ(g.outside_box, h.outside_box) << what;
            EXPECT_EQ(g.best.walker, h.best.walker) << what;
            EXPECT_EQ(g.best_position, h.best_position) << what;
            const int D = s.model.dim();
            ASSERT_EQ(g.moment_sums.size(), std::size_t(moment_width(D))) << what;
            ASSERT_EQ(h.moment_sums.size(), g.moment_sums.size()) << what;
            for (int j : {0, moment::hits(D), moment::hits(D) + 1, moment::hits(D) + 2})
                EXPECT_TRUE(g.moment_sums[j] == h.moment_sums[j]) << what << " moment " << j;
            std::vector<int> nonnegative = {2};
            for (int d = 0; d < D; ++d)
                nonnegative.push_back(3 + D + d);
            for (int j : nonnegative) {
                const double a = g.moment_sums[j].value(), b = h.moment_sums[j].value();
                EXPECT_LE(std::fabs(a - b), 1e-12 * std::fabs(b)) << what << " moment " << j;
            }
            // |x - x0|^2 over the finite walkers, x0 the GPU's starts, summed per moment block.
            ExactSum msd;
            for (std::uint64_t i0 = 0; i0 < walkers; i0 += kMomentBlock) {
                double block = 0;
                for (std::uint64_t i = i0; i < std::min(walkers, i0 + kMomentBlock); ++i) {
                    bool finite = true;
                    double m = 0;
                    for (int d = 0; d < D; ++d) {
                        const double x = state.x[d * walkers + i];
                        finite =
                            finite && std::isfinite(x) && std::isfinite(state.v[d * walkers + i]);
                        const double u = x - gpu_start.x[d * walkers + i];
                        m += u * u;
                    }
                    block += finite ? m : 0.0;
                }
                msd.add(block);
            }
            const double a = g.moment_sums[moment::msd(D)].value(), b = msd.value();
            EXPECT_LE(std::fabs(a - b), 1e-12 * b) << what << " |x - x0|^2";
            if (s.init.kind != InitSpec::Kind::gaussian) // the same starts on the CPU, bitwise
                EXPECT_LE(std::fabs(h.moment_sums[moment::msd(D)].value() - b), 1e-12 * b)
                    << what << " |x - x0|^2";
            EXPECT_EQ(g.moment_sums[0].value(), double(walkers - (steps > 0 ? 3 : 0))) << what;
        }
}

TEST(Gpu, PlainObservationKernelEqualsTheGeneralOne) {
    // Overdamped walkers without a target are observed by a kernel compiled without velocities,
    // hit steps or passage times (Plain); with a target, by the general one. The same positions
    // (a few non-finite) observed both ways give every count, the best walker and its energy
    // and every moment sum but the hit sums bitwise alike: the same order, the same rounding.
    // Cases: 1-D (slots before the moments) and 2-D (after), float32 and float64.
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    // Each case with the target's level: about half the walkers hit it.
    const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
        {{"potential.kind=double_well", "ensemble.init=point", "ensemble.init_point=-1"}, "-1"},
        {{"potential.kind=double_well", "ensemble.precision=float64", "ensemble.init=gaussian",
          "ensemble.init_point=0", "ensemble.init_sigma=0.5"},
         "0"},
        {{"potential.kind=muller_brown", "integrator.dt=1e-4", "temperature.T=15",
          "ensemble.init=gaussian", "ensemble.init_point=[-0.5, 1.4]", "ensemble.init_sigma=0.2",
          "histogram.bins=[30, 30]"},
         "-0.5"},
    };
    const std::uint64_t walkers = 9000;
    for (const auto &[c, level] : cases) {
        std::string what;
        for (const auto &v : c)
            what += " " + v;
        std::vector<std::string> sets = c;
        sets.push_back("ensemble.walkers=9000");
        const std::string base = "[integrator]\ndt = 0.01\n[temperature]\nT = 0.5\n";
        const Study plain = test::study_from(base, sets);
        sets.push_back("first_passage.region=above");
        sets.push_back("first_passage.level=" + level);
        const Study general = test::study_from(base, sets);
        ASSERT_FALSE(plain.model.target.active()) << what;
        ASSERT_TRUE(general.model.target.active()) << what;
        auto with_target = make_backend("cuda");
        with_target->initialize(general.model, general.init, 4096, walkers);
        with_target->advance(general.model, 0, 40, general.schedule.table(0, 40));
        WalkerState state;
        with_target->save(state);
        for (std::uint64_t i : {5u, 4100u, 8999u})
            state.x[i] = i == 5 ? NAN : (i == 4100 ? HUGE_VAL : -HUGE_VAL);
        with_target->load(general.model, 4096, state);
        ObserveSpec spec{general.grid, general.init, Axis{0.0, 41.0, 10}};
        const Observation g = with_target->observe(general.model, spec);
        state.hit.clear();
        auto without = make_backend("cuda");
        without->load(plain.model, 4096, state);
        spec.passage = Axis{0, 1, 0};
        const Observation p = without->observe(plain.model, spec);
        EXPECT_EQ(p.marginal, g.marginal) << what;
        EXPECT_EQ(p.joint, g.joint) << what;
        EXPECT_EQ(p.basins, g.basins) << what;
        EXPECT_EQ(p.outside_box, g.outside_box) << what;
        EXPECT_EQ(p.best.walker, g.best.walker) << what;
        EXPECT_TRUE(p.best.energy == g.best.energy) << what;
        EXPECT_EQ(p.best_position, g.best_position) << what;
        const int D = plain.model.dim();
        ASSERT_EQ(p.moment_sums.size(), g.moment_sums.size()) << what;
        for (int j = 0; j < moment::hits(D); ++j)
            EXPECT_TRUE(p.moment_sums[j] == g.moment_sums[j]) << what << " moment " << j;
        EXPECT_EQ(p.moment_sums[0].value(), double(walkers - 3)) << what;
        EXPECT_GT(g.moment_sums[moment::hits(D)].value(), 0.0) << what << ": nobody hit";
    }
}

TEST(Gpu, BestWalkerAmongInfiniteEnergiesIsTheLowestId) {
    // Finite walkers so far out that their energy overflows to +inf: Best::consider keeps the
    // lowest walker id among equal energies, +inf included (a walker is better than none). The
    // device tracks each thread's best by its index in the block, replacing it on a tie only
    // while it has none; with walkers 0-2 NaN (never the best) the best is walker 3, on both
    // backends, in both precisions, in the plain and the general kernel (a target); one finite
    // energy in the second block of walkers (7000) wins over all of them.
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    const std::uint64_t walkers = 9000;
    for (const char *precision : {"float32", "float64"})
        for (bool target : {false, true})
            for (bool one_finite : {false, true}) {
                std::vector<std::string> sets = {"potential.kind=double_well",
                                                 "ensemble.walkers=9000",
                                                 std::string("ensemble.precision=") + precision};
                if (target) {
                    sets.push_back("first_passage.region=above");
                    sets.push_back("first_passage.level=0");
                }
                const Study s = test::study_from("", sets);
                const std::string what = std::string(precision) + (target ? " target" : "") +
                                         (one_finite ? " one finite energy" : "");
                ASSERT_EQ(s.model.target.active(), target) << what;
                // Energies a (x^2 - 1)^2 + tilt x: x^4 overflows float32 at 1e30, float64 at 1e160.
                const bool single = std::string(precision) == "float32";
                const double far = single ? 1e30 : 1e160;
                auto cpu = make_backend("cpu");
                cpu->initialize(s.model, s.init, 4096, walkers);
                WalkerState state;
                cpu->save(state);
                for (std::uint64_t i = 0; i < walkers; ++i)
                    state.x[i] = i < 3 ? NAN : (i % 2 ? far : -far);
                if (one_finite)
                    state.x[7000] = 3.0;
                ObserveSpec spec{s.grid, s.init, Axis{0, 1, 0}};
                if (target)
                    spec.passage = Axis{0.0, 1.0, 1};
                auto gpu = make_backend("cuda");
                cpu->load(s.model, 4096, state);
                gpu->load(s.model, 4096, state);
                const Observation g = gpu->observe(s.model, spec), h = cpu->observe(s.model, spec);
                const std::uint64_t best = one_finite ? 7000 : 3;
                for (const Observation *o : {&g, &h}) {
                    const char *backend = o == &g ? " (cuda)" : " (cpu)";
                    EXPECT_EQ(o->best.walker, 4096 + best) << what << backend;
                    if (one_finite)
                        EXPECT_TRUE(std::isfinite(o->best.energy)) << what << backend;
                    else
                        EXPECT_EQ(o->best.energy, HUGE_VAL) << what << backend;
                    ASSERT_EQ(o->best_position.size(), 1u) << what << backend;
                    const double x = state.x[best]; // as the backend holds it
                    EXPECT_EQ(o->best_position[0], single ? double(float(x)) : x)
                        << what << backend;
                    EXPECT_EQ(o->moment_sums[0].value(), double(walkers - 3)) << what << backend;
                }
            }
}

TEST(Gpu, QueuedSamplingOfMillionsEqualsSerialSampling) {
    // Large enough that each observation (second stream) runs while the next segment steps; the
    // gaps to the next sample (4, 64, 68, 4, 32, 64, 40, then 20 trailing steps) give every
    // observation grid (the whole card; one or two blocks per SM, each looping over ~1024
    // moment blocks) and alternate the double buffer: every sample bitwise as advance() +
    // observe() in turn, and the same final state. Cases: overdamped and underdamped; an
    // annealing schedule (per-step coefficients) with a first-passage target (hit steps in both
    // halves); a 1000 x 1000 joint histogram, whose totals (~8 MB a sample) come back in batches
    // of 8 samples (64 MiB): its 12 samples take two batches.
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    const std::string well = "[potential]\nkind = \"double_well\"\ntilt = 0.1\n[integrator]\n"
                             "dt = 1e-2\n[temperature]\nT = 0.5\n[ensemble]\ninit_point = -1.0\n";
    const std::string mb = "[potential]\nkind = \"muller_brown\"\n[integrator]\ndt = 1e-4\n"
                           "[temperature]\nT = 15\n[ensemble]\ninit = \"gaussian\"\n"
                           "init_point = [-0.5, 1.4]\ninit_sigma = 0.2\n[histogram]\n"
                           "bins = [1000, 1000]\n";
    const std::vector<std::uint64_t> gaps = {4, 8, 72, 140, 144, 176, 240, 280};
    const std::vector<std::uint64_t> twelve = {4,   8,   72,  140, 144, 176,
                                               240, 280, 284, 288, 292, 296};
    const std::vector<std::tuple<std::string, std::vector<std::string>, std::vector<std::uint64_t>>>
        cases = {
            {well, {"integrator.kind=euler_maruyama", "ensemble.walkers=4194304"}, gaps},
            {well, {"integrator.kind=baoab", "ensemble.walkers=4194304"}, gaps},
            {well,
             {"integrator.kind=leimkuhler_matthews", "ensemble.walkers=4194304",
              "temperature.kind=geometric", "temperature.T0=1", "temperature.T1=0.2",
              "first_passage.region=above", "first_passage.level=0.9"},
             gaps},
            {mb, {"ensemble.walkers=1048576"}, twelve},
        };
    for (const auto &[toml, sets, at] : cases) {
        const Study s = test::study_from(toml, sets);
        const std::string what = sets[0];
        ObserveSpec spec{s.grid, s.init, Axis{0, 1, 0}};
        if (s.model.target.active())
            spec.passage = Axis{0.0, 300.5, 50};
        auto gpu = make_backend("cuda");
        std::vector<Observation> runs[2];
        WalkerState states[2];
        for (int serial = 0; serial < 2; ++serial) {
            gpu->initialize(s.model, s.init, 0, s.walkers);
            const auto kT = s.schedule.table(0, 300);
            const std::uint64_t queued_before = cuda::queued_sample_count;
            runs[serial] = serial ? gpu->Backend::advance_and_observe(s.model, 0, 300, kT, spec, at)
                                  : gpu->advance_and_observe(s.model, 0, 300, kT, spec, at);
            // Not the serial path twice: the pipeline ran (it falls back without the memory).
            EXPECT_EQ(cuda::queued_sample_count - queued_before, serial ? 0 : at.size()) << what;
            gpu->save(states[serial]);
        }
        ASSERT_EQ(runs[0].size(), at.size()) << what;
        ASSERT_EQ(runs[1].size(), at.size()) << what;
        for (std::size_t k = 0; k < at.size(); ++k)
            test::expect_same_observation(runs[0][k], runs[1][k],
                                          what + " sample " + std::to_string(k));
        EXPECT_EQ(states[0].x, states[1].x) << what;
        EXPECT_EQ(states[0].v, states[1].v) << what;
        EXPECT_EQ(states[0].hit, states[1].hit) << what;
        EXPECT_NE(runs[0][0].marginal, runs[0].back().marginal) << what;
        if (s.model.target.active())
            EXPECT_NE(runs[0][0].passage, runs[0].back().passage) << what;
    }
}

TEST(Gpu, ObserverGridSettingChangesNoResult) {
    // LANGEVIN_OBSERVER_BLOCKS fixes the grid of queued observations (a tuning knob): any value
    // gives the serial results bitwise; a bad value is refused before anything is queued.
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    const Study s = test::study_from(
        "[potential]\nkind = \"double_well\"\ntilt = 0.1\n[integrator]\ndt = 1e-2\n"
        "[temperature]\nT = 0.5\n[ensemble]\ninit_point = -1.0\nwalkers = 2097152\n");
    const ObserveSpec spec{s.grid, s.init, Axis{0, 1, 0}};
    const std::vector<std::uint64_t> at = {100, 200, 300};
    const auto kT = s.schedule.table(0, 300);
    auto gpu = make_backend("cuda");
    gpu->initialize(s.model, s.init, 0, s.walkers);
    const std::vector<Observation> serial =
        gpu->Backend::advance_and_observe(s.model, 0, 300, kT, spec, at);
    for (const char *value : {"0", "1", "3", "32"}) {
        const ScopedEnv blocks("LANGEVIN_OBSERVER_BLOCKS", value);
        gpu->initialize(s.model, s.init, 0, s.walkers);
        const std::uint64_t queued_before = cuda::queued_sample_count;
        const std::vector<Observation> queued =
            gpu->advance_and_observe(s.model, 0, 300, kT, spec, at);
        EXPECT_EQ(cuda::queued_sample_count - queued_before, at.size()) << value;
        ASSERT_EQ(queued.size(), at.size());
        for (std::size_t k = 0; k < at.size(); ++k)
            test::expect_same_observation(queued[k], serial[k],
                                          std::string("blocks per SM ") + value);
    }
    expect_refused("LANGEVIN_OBSERVER_BLOCKS", {"", "x", "-1", "33", "2k", " 1", "+1"}, [&] {
        gpu->initialize(s.model, s.init, 0, s.walkers);
        gpu->advance_and_observe(s.model, 0, 300, kT, spec, at);
    });
}

TEST(Gpu, StepSlicesChangeNoResult) {
    // LANGEVIN_STEP_SLICES fixes how many slices of walkers step on their own streams while
    // samples are taken (a tuning knob): any value gives the serial samples and final state
    // bitwise. An odd walker count leaves the last slice a partial block of threads; the cases
    // slice the velocities (BAOAB), the shared ones (overdamped) and the hit steps of a target
    // under an annealing schedule. A bad value is refused before anything is queued.
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    const std::string well = "[potential]\nkind = \"double_well\"\ntilt = 0.1\n[integrator]\n"
                             "dt = 1e-2\n[temperature]\nT = 0.5\n[ensemble]\ninit_point = -1.0\n"
                             "walkers = 1000003\n";
    const std::vector<std::uint64_t> at = {4, 100, 164, 200};
    std::vector<std::uint64_t> every_step(64);
    for (std::uint64_t k = 0; k < 64; ++k)
        every_step[k] = k + 1;
    struct Case {
        std::vector<std::string> sets;
        std::vector<std::uint64_t> at;
        const char *observer_blocks; // LANGEVIN_OBSERVER_BLOCKS, null: the default
    };
    const std::vector<Case> cases = {
        {{"integrator.kind=baoab"}, at, nullptr},
        {{"integrator.kind=euler_maruyama", "temperature.kind=geometric", "temperature.T0=1",
          "temperature.T1=0.2", "first_passage.region=above", "first_passage.level=0.9"},
         at,
         nullptr},
        // A sample after every step, each observed by one block per SM: the slices' next
        // segments outrun every observation, so a missing wait between the streams (the
        // observer for every slice, every slice for the observation of the half it overwrites)
        // would show as a changed sample.
        {{"integrator.kind=baoab"}, every_step, "1"},
        {{"integrator.kind=leimkuhler_matthews"}, every_step, "1"},
    };
    for (const Case &c : cases) {
        const Study s = test::study_from(well, c.sets);
        ObserveSpec spec{s.grid, s.init, Axis{0, 1, 0}};
        if (s.model.target.active())
            spec.passage = Axis{0.0, 200.5, 50};
        const std::uint64_t n_steps = c.at.back();
        const auto kT = s.schedule.table(0, n_steps);
        const ScopedEnv observer_blocks("LANGEVIN_OBSERVER_BLOCKS", c.observer_blocks);
        auto gpu = make_backend("cuda");
        gpu->initialize(s.model, s.init, 0, s.walkers);
        const std::vector<Observation> serial =
            gpu->Backend::advance_and_observe(s.model, 0, n_steps, kT, spec, c.at);
        WalkerState expected;
        gpu->save(expected);
        for (const char *value : {"1", "2", "3", "8"}) {
            const ScopedEnv slices("LANGEVIN_STEP_SLICES", value);
            gpu->initialize(s.model, s.init, 0, s.walkers);
            const std::uint64_t queued_before = cuda::queued_sample_count;
            const std::vector<Observation> queued =
                gpu->advance_and_observe(s.model, 0, n_steps, kT, spec, c.at);
            const std::string what =
                c.sets[0] + ", " + std::to_string(c.at.size()) + " samples, slices " + value;
            EXPECT_EQ(cuda::queued_sample_count - queued_before, c.at.size()) << what;
            ASSERT_EQ(queued.size(), c.at.size()) << what;
            for (std::size_t k = 0; k < c.at.size(); ++k)
                test::expect_same_observation(queued[k], serial[k], what);
            WalkerState state;
            gpu->save(state);
            EXPECT_EQ(state.x, expected.x) << what;
            EXPECT_EQ(state.v, expected.v) << what;
            EXPECT_EQ(state.hit, expected.hit) << what;
        }
        if (s.model.target.active())
            EXPECT_NE(serial.front().passage, serial.back().passage);
    }
    const Study s = test::study_from(well);
    const ObserveSpec spec{s.grid, s.init, Axis{0, 1, 0}};
    auto gpu = make_backend("cuda");
    expect_refused("LANGEVIN_STEP_SLICES", {"", "x", "0", "9", "2k", " 2", "+2"}, [&] {
        gpu->initialize(s.model, s.init, 0, s.walkers);
        gpu->advance_and_observe(s.model, 0, 200, s.schedule.table(0, 200), spec, at);
    });
}

TEST(Gpu, CoefficientTableIsSentAgainAfterAFailedGrowth) {
    // Growing the coefficient buffer frees the old one first: if the new allocation fails, the
    // table that was sent before must not count as sent, or its next upload would skip the copy
    // into the fresh (uninitialised) buffer and the kernels would read garbage.
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    cuda::Workspace ws;
    const std::vector<double> table = {1.5, -2.25, 3.125, 4.0};
    const std::size_t bytes = sizeof(double) * table.size();
    ws.upload_coeffs(table.data(), bytes);
    // More than any device holds: the allocation fails before anything is read from the host.
    EXPECT_THROW(ws.upload_coeffs(table.data(), std::size_t(1) << 52), Error);
    // The bookkeeping itself, whatever the allocator does: nothing counts as sent.
    EXPECT_TRUE(ws.sent_coeffs.empty());
    // An allocation of the same size, held and filled with another pattern, takes the place the
    // freed buffer (and its old contents) most likely had.
    void *other = nullptr;
    ASSERT_EQ(cudaMalloc(&other, bytes), cudaSuccess);
    ASSERT_EQ(cudaMemset(other, 0xff, bytes), cudaSuccess);
    const void *device = ws.upload_coeffs(table.data(), bytes);
    std::vector<double> back(table.size());
    const cudaError_t copied = cudaMemcpy(back.data(), device, bytes, cudaMemcpyDeviceToHost);
    cudaFree(other);
    ASSERT_EQ(copied, cudaSuccess);
    EXPECT_EQ(back, table);
}

TEST(Gpu, RequireCudaMeansTheCudaBackendIsUsedByAuto) {
    require_device();
    if (IsSkipped() || HasFatalFailure())
        return;
    EXPECT_EQ(make_backend("auto")->name(), "cuda");
}
