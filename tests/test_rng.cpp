// The random streams: golden known answers, offsets, purposes.
#include <fstream>
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

TEST(Rng, CpuBatchedNormalsAreCurandNormal4) {
    // The CPU backend's vectorised normals: cuRAND's integers, Box-Muller with polynomial
    // log/sin/cos; within a few ulp of curand_normal4 on the host.
    const int calls = 37;
    std::vector<float> batch(cpu::kLanes * 4 * calls);
    for (std::uint64_t first_walker : {0ull, 17ull, 4294967290ull}) {
        for (std::uint64_t first_call : {0ull, 5ull, 1ull << 33}) {
            cpu::philox_normals(2024, first_walker, first_call, calls, batch.data());
            for (int l = 0; l < cpu::kLanes; ++l) {
                WalkerRng rng(2024, first_walker + l, 4 * first_call);
                for (int k = 0; k < calls; ++k) {
                    Vec<float, 4> ref;
                    rng.normals(ref);
                    for (int j = 0; j < 4; ++j)
                        ASSERT_NEAR(batch[(4 * k + j) * cpu::kLanes + l], ref[j],
                                    4e-7f * (1 + std::fabs(ref[j])))
                            << "walker " << first_walker + l << " call " << first_call + k;
                }
            }
        }
    }
}

TEST(Rng, BoxMullerOfTheSmallestWordIsCurands) {
    // u = word 2^-32 + 2^-33 as in cuRAND, so word 0 gives u = 2^-33 and radius
    // sqrt(-2 ln 2^-33) = sqrt(66 ln 2), not the unbounded radius of u = 0 (or 13 sigma of a
    // misplaced offset): a word no statistical test draws often enough to see.
    float n0, n1;
    cpu::box_muller(0u, 12345u, n0, n1);
    EXPECT_NEAR(std::hypot(n0, n1), std::sqrt(66 * std::log(2.0)), 1e-4);
}
