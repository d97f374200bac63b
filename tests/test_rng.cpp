// The random streams: golden known answers, offsets, purposes.
#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>

#include "cpu_normals.hpp"
#include "langevin/rng.hpp"
#include "test_support.hpp"

using namespace langevin;

namespace {

struct GoldenRow {
    std::uint64_t seed, walker, offset;
    unsigned words[4];
};

std::vector<GoldenRow> golden_rows() {
    std::ifstream in(LGV_SOURCE_DIR "/data/golden/philox_words.txt");
    EXPECT_TRUE(in) << "missing data/golden/philox_words.txt";
    std::vector<GoldenRow> rows;
    std::string line;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        std::istringstream s(line);
        GoldenRow r{};
        s >> r.seed >> r.walker >> r.offset >> r.words[0] >> r.words[1] >> r.words[2] >> r.words[3];
        rows.push_back(r);
    }
    return rows;
}

} // namespace

TEST(Rng, GoldenKnownAnswersOnTheHost) {
    const auto rows = golden_rows();
    ASSERT_GE(rows.size(), 10u);
    for (const GoldenRow &r : rows) {
        WalkerRng rng(r.seed, r.walker, r.offset);
        const uint4 w = rng.words();
        EXPECT_EQ(w.x, r.words[0]) << "seed " << r.seed << " walker " << r.walker;
        EXPECT_EQ(w.y, r.words[1]);
        EXPECT_EQ(w.z, r.words[2]);
        EXPECT_EQ(w.w, r.words[3]);
    }
}

TEST(Rng, StepGroupsUseWholeCalls) {
    // float: 4 normals per call; double: 2. A group of steps uses whole calls, none discarded.
    static_assert(NormalLayout<float, 1>::group_steps == 4 &&
                  NormalLayout<float, 1>::group_calls == 1);
    static_assert(NormalLayout<float, 3>::group_steps == 4 &&
                  NormalLayout<float, 3>::group_calls == 3);
    static_assert(NormalLayout<float, 8>::group_steps == 1 &&
                  NormalLayout<float, 8>::group_calls == 2);
    static_assert(NormalLayout<double, 1>::group_steps == 2);
    static_assert(NormalLayout<double, 3>::group_steps == 2 &&
                  NormalLayout<double, 3>::group_calls == 3);
    static_assert(NormalLayout<double, 10>::group_words == 20);
    // Group g starts at word g * group_words: re-initialising there equals drawing on.
    using Layout = NormalLayout<float, 3>;
    WalkerRng sequential(42, 7, 0);
    for (std::uint64_t g = 0; g < 50; ++g) {
        Vec<float, Layout::group_normals> a, b;
        sequential.fill_group(a);
        WalkerRng fresh(42, 7, g * Layout::group_words);
        fresh.fill_group(b);
        for (int k = 0; k < Layout::group_normals; ++k)
            ASSERT_EQ(a[k], b[k]) << "group " << g;
    }
}

TEST(Rng, PurposesAndWalkersAreDistinctStreams) {
    EXPECT_EQ(stream_key(99, Purpose::dynamics), 99u);
    EXPECT_NE(stream_key(99, Purpose::init_position), stream_key(99, Purpose::init_velocity));
    EXPECT_NE(stream_key(99, Purpose::init_position), 99u);
    WalkerRng a(1, 0, 0), b(1, 1, 0);
    EXPECT_NE(a.words().x, b.words().x);
}

TEST(Rng, NormalsHaveUnitVariance) {
    // 2^18 draws: mean 0 and variance 1 within five standard errors.
    const int n = 1 << 16;
    double s = 0, s2 = 0;
    for (int i = 0; i < n; ++i) {
        WalkerRng rng(5, i, 0);
        Vec<double, 4> x;
        rng.normals(x);
        for (int d = 0; d < 4; ++d) {
            s += x[d];
            s2 += x[d] * x[d];
        }
    }
    const double m = s / (4.0 * n), v = s2 / (4.0 * n) - m * m;
    EXPECT_LT(std::fabs(m) / std::sqrt(1.0 / (4.0 * n)), test::kZ);
    EXPECT_LT(std::fabs(v - 1) / std::sqrt(2.0 / (4.0 * n)), test::kZ);
}

namespace {

/// The CPU backend's batched normals of type T (P a cuRAND call) against cuRAND's host calls,
/// each within `tolerance(reference)`, across lanes, large walker ids and call counters; returns
/// the largest difference.
template <class T, int P, class Tolerance> double batched_against_curand(Tolerance tolerance) {
    const int calls = 37;
    std::vector<T> batch(cpu::kLanes * P * calls);
    double worst = 0;
    for (std::uint64_t first_walker : {0ull, 17ull, 4294967290ull}) {
        for (std::uint64_t first_call : {0ull, 5ull, 1ull << 33}) {
            cpu::philox_normals(2024, first_walker, first_call, calls, batch.data());
            for (int l = 0; l < cpu::kLanes; ++l) {
                WalkerRng rng(2024, first_walker + l, 4 * first_call);
                for (int k = 0; k < calls; ++k) {
                    Vec<T, P> ref;
                    rng.normals(ref);
                    for (int j = 0; j < P; ++j) {
                        const T ours = batch[(P * k + j) * cpu::kLanes + l];
                        worst = std::max(worst, double(std::fabs(ours - ref[j])));
                        EXPECT_NEAR(ours, ref[j], tolerance(ref[j]))
                            << "walker " << first_walker + l << " call " << first_call + k;
                        if (::testing::Test::HasFailure())
                            return worst;
                    }
                }
            }
        }
    }
    return worst;
}

} // namespace

TEST(Rng, CpuBatchedNormalsAreCurandNormal4) {
    // The CPU backend's vectorised normals: cuRAND's integers, Box-Muller with polynomial
    // log/sin/cos; within a few ulp of curand_normal4 on the host.
    batched_against_curand<float, 4>([](float ref) { return 4e-7f * (1 + std::fabs(ref)); });
}

TEST(Rng, CpuBatchedNormalsAreCurandNormal2Double) {
    // float64: the words of curand_normal2_double, Box-Muller with polynomial log and sincospi.
    // cuRAND's host code takes libm's sin(v pi) with pi and v pi rounded: an argument (< 2 pi)
    // up to 2^-51 + 2 * 2^-53 pi off (6.9e-16), then an ulp; ours is within 2^-52 of sin(pi v)
    // (the test below). The two largest terms peak at different v: a review measured at most
    // 6.2e-15 apart over 5.8 million words chosen at the quadrant edges and at small u, with
    // radii <= 8.7 (u >= 2^-54); plus a few ulp of the radius.
    const double worst = batched_against_curand<double, 2>(
        [](double ref) { return 7e-15 + 1e-15 * std::fabs(ref); });
    EXPECT_GT(worst, 0.0); // the polynomials are not libm's: a test that could not tell
}

TEST(Rng, CpuNormalsAreTheSameBitsOnEveryInstructionSet) {
    // The batched normals run as AVX-512, AVX2 or portable code, whichever the processor has: a
    // run is reproducible across machines only if every one gives the same bits. Compared here:
    // each instruction set this processor runs against the portable code.
    const int calls = 19;
    std::vector<float> f_ref(cpu::kLanes * 4 * calls), f(f_ref.size());
    std::vector<double> d_ref(cpu::kLanes * 2 * calls), d(d_ref.size());
    int compared = 0;
    for (cpu::Isa isa : {cpu::Isa::avx2, cpu::Isa::avx512}) {
        if (int(isa) > int(cpu::best_isa()))
            continue;
        for (std::uint64_t first_walker : {0ull, 4294967290ull}) {
            for (std::uint64_t first_call : {0ull, 1ull << 33}) {
                cpu::philox_normals(99, first_walker, first_call, calls, f_ref.data(),
                                    cpu::Isa::portable);
                cpu::philox_normals(99, first_walker, first_call, calls, f.data(), isa);
                cpu::philox_normals(99, first_walker, first_call, calls, d_ref.data(),
                                    cpu::Isa::portable);
                cpu::philox_normals(99, first_walker, first_call, calls, d.data(), isa);
                ASSERT_EQ(std::memcmp(f.data(), f_ref.data(), sizeof(float) * f.size()), 0)
                    << "float, isa " << int(isa);
                ASSERT_EQ(std::memcmp(d.data(), d_ref.data(), sizeof(double) * d.size()), 0)
                    << "double, isa " << int(isa);
            }
        }
        ++compared;
    }
    if (compared == 0)
        GTEST_SKIP() << "this processor runs only the portable code";
    std::printf("compared %d instruction set(s) with the portable code\n", compared);
}

TEST(Rng, CpuDoubleUniformsAreCurands) {
    // u and v of _curand_box_muller_double, bit for bit, at the ends of their ranges (u = 1,
    // v = 1, 1.5, 2 by round-half-even) and on random words.
    auto curand_uv = [](std::uint32_t x, std::uint32_t y, std::uint32_t z, std::uint32_t w) {
        const unsigned long long zx = (unsigned long long)x ^ ((unsigned long long)y << (53 - 32));
        const unsigned long long zy = (unsigned long long)z ^ ((unsigned long long)w << (53 - 32));
        return std::make_pair(zx * CURAND_2POW53_INV_DOUBLE + (CURAND_2POW53_INV_DOUBLE / 2.0),
                              zy * (CURAND_2POW53_INV_DOUBLE * 2.0) + CURAND_2POW53_INV_DOUBLE);
    };
    std::vector<std::array<std::uint32_t, 4>> words = {
        {0u, 0u, 0u, 0u},
        {0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}, // z = 2^53 - 1: u = 1, v = 2
        {0u, 1u << 31, 0u, 1u << 31},                         // z = 2^52: v = 1
        {0u, 3u << 30, 0u, 3u << 30},                         // z = 3 2^51: v = 1.5
        {0x80000000u, 0u, 0x7fffffffu, 0x7ffu},
    };
    std::mt19937 gen(3);
    for (int i = 0; i < 100000; ++i)
        words.push_back({std::uint32_t(gen()), std::uint32_t(gen()), std::uint32_t(gen()),
                         std::uint32_t(gen())});
    for (const auto &q : words) {
        double u, v;
        cpu::detail::box_muller_uniforms(q[0], q[1], q[2], q[3], u, v);
        const auto [cu, cv] = curand_uv(q[0], q[1], q[2], q[3]);
        ASSERT_EQ(std::memcmp(&u, &cu, sizeof u), 0) << u << " vs " << cu;
        ASSERT_EQ(std::memcmp(&v, &cv, sizeof v), 0) << v << " vs " << cv;
    }
}

TEST(Rng, CpuBatchedUniformsAreCurands) {
    // The CPU backend's batched uniforms (uniform starts) are curand_uniform4's and
    // curand_uniform2_double's bit for bit, with every instruction set, across lanes, large
    // walker ids and call counters.
    const int calls = 23;
    std::vector<float> f(cpu::kLanes * 4 * calls);
    std::vector<double> d(cpu::kLanes * 2 * calls);
    int compared = 0;
    for (cpu::Isa isa : {cpu::Isa::portable, cpu::Isa::avx2, cpu::Isa::avx512}) {
        if (int(isa) > int(cpu::best_isa()))
            continue;
        for (std::uint64_t first_walker : {0ull, 17ull, 4294967290ull}) {
            for (std::uint64_t first_call : {0ull, 5ull, 1ull << 33}) {
                cpu::philox_draws<float, cpu::Draw::uniform>(7, first_walker, first_call, calls,
                                                             f.data(), isa);
                cpu::philox_draws<double, cpu::Draw::uniform>(7, first_walker, first_call, calls,
                                                              d.data(), isa);
                for (int l = 0; l < cpu::kLanes; ++l) {
                    curandStatePhilox4_32_10_t fs, ds;
                    curand_init(7, first_walker + l, 4 * first_call, &fs);
                    curand_init(7, first_walker + l, 4 * first_call, &ds);
                    for (int k = 0; k < calls; ++k) {
                        const float4 fr = curand_uniform4(&fs);
                        const double2 dr = curand_uniform2_double(&ds);
                        const float fq[4] = {fr.x, fr.y, fr.z, fr.w};
                        const double dq[2] = {dr.x, dr.y};
                        for (int j = 0; j < 4; ++j)
                            ASSERT_EQ(std::memcmp(&f[(4 * k + j) * cpu::kLanes + l], &fq[j], 4), 0)
                                << "float, isa " << int(isa) << " walker " << first_walker + l;
                        for (int j = 0; j < 2; ++j)
                            ASSERT_EQ(std::memcmp(&d[(2 * k + j) * cpu::kLanes + l], &dq[j], 8), 0)
                                << "double, isa " << int(isa) << " walker " << first_walker + l;
                    }
                }
            }
        }
        ++compared;
    }
    EXPECT_GE(compared, 1);
}

TEST(Rng, CpuDoubleLogAndSincospiAreWithin2ToMinus52) {
    // Against long double over the arguments Box-Muller meets: u = z 2^-53 + 2^-54 and
    // v = z 2^-52 + 2^-53 for z < 2^53 (the ends included), every power of two down to 2^-54.
    std::mt19937_64 gen(7);
    std::vector<std::uint64_t> zs = {0, 1, 2, (1ull << 52) - 1, 1ull << 52, (1ull << 53) - 1};
    for (int i = 0; i < 200000; ++i)
        zs.push_back(gen() >> 11);
    const long double pi = 3.141592653589793238462643383279502884L;
    double worst_log = 0, worst_sin = 0, worst_cos = 0;
    for (std::uint64_t z : zs) {
        const double u = double(z) * 0x1p-53 + 0x1p-54, v = double(z) * 0x1p-52 + 0x1p-53;
        const long double exact_log = std::log(static_cast<long double>(u));
        if (exact_log != 0)
            worst_log = std::max(
                worst_log, double(std::fabs((cpu::detail::log_poly(u) - exact_log) / exact_log)));
        // sin(pi v) from the exact reduction 2v = k + f, so the reference itself keeps its digits.
        const long double t = 2.0L * v, k = std::nearbyint(t), f = t - k;
        const long double ps = std::sin(f * pi / 2), pc = std::cos(f * pi / 2);
        const int q = int(k) & 3;
        const long double rs = q == 0 ? ps : q == 1 ? pc : q == 2 ? -ps : -pc;
        const long double rc = q == 0 ? pc : q == 1 ? -ps : q == 2 ? -pc : ps;
        double s, c;
        host_math::sincospi_kernel(v, s, c);
        worst_sin = std::max(worst_sin, double(std::fabs(s - rs)));
        worst_cos = std::max(worst_cos, double(std::fabs(c - rc)));
    }
    for (int e = 1; e <= 54; ++e) { // log 2^-e = -e ln 2: the exponent's part alone
        const double u = std::ldexp(1.0, -e);
        const long double exact_log = -e * std::log(2.0L);
        worst_log = std::max(worst_log,
                             double(std::fabs((cpu::detail::log_poly(u) - exact_log) / exact_log)));
    }
    EXPECT_EQ(cpu::detail::log_poly(1.0), 0.0);
    EXPECT_LT(worst_log, 0x1p-52);     // relative
    EXPECT_LT(worst_sin, 2 * 0x1p-53); // absolute: |sin| <= 1
    EXPECT_LT(worst_cos, 2 * 0x1p-53);
}

TEST(Rng, BoxMullerOfTheSmallestWordIsCurands) {
    // u = word 2^-32 + 2^-33 as in cuRAND, so word 0 gives u = 2^-33 and radius
    // sqrt(-2 ln 2^-33) = sqrt(66 ln 2), not the unbounded radius of u = 0 (or 13 sigma of a
    // misplaced offset): a word no statistical test draws often enough to see.
    float n0, n1;
    cpu::box_muller(0u, 12345u, n0, n1);
    EXPECT_NEAR(std::hypot(n0, n1), std::sqrt(66 * std::log(2.0)), 1e-4);
}
