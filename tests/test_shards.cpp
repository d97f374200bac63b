// Exact sums and shard ranges: what makes sharded and MPI runs bitwise equal to one run.
#include <algorithm>
#include <cfloat>
#include <random>

#include "test_support.hpp"

#include "langevin/exact_sum.hpp"

using namespace langevin;

namespace {

ExactSum sum_of(const std::vector<double> &xs) {
    ExactSum s;
    for (double x : xs)
        s.add(x);
    return s;
}

} // namespace

TEST(ExactSum, IsExactWhereDoublesAreNot) {
    EXPECT_EQ(sum_of({1e100, 1.0, -1e100}).value(), 1.0);
    EXPECT_EQ(sum_of({0.1, 0.2, -0.3}).value(), std::ldexp(1.0, -55)); // doubles: 2^-54
    EXPECT_EQ(sum_of({DBL_MAX, DBL_MAX, -DBL_MAX}).value(), DBL_MAX);  // no overflow in between
    EXPECT_EQ(sum_of({DBL_TRUE_MIN, DBL_TRUE_MIN}).value(), 2 * DBL_TRUE_MIN); // subnormals
    // Subnormal totals left by cancellation are exact (multiples of 2^-1074, no second rounding).
    EXPECT_EQ(sum_of({1.0, 5 * DBL_TRUE_MIN, -1.0}).value(), 5 * DBL_TRUE_MIN);
    EXPECT_EQ(sum_of({DBL_MIN, -DBL_TRUE_MIN}).value(), std::nextafter(DBL_MIN, 0.0));
    EXPECT_EQ(sum_of({-1e300, DBL_MIN / 2, 1e300, -3 * DBL_TRUE_MIN}).value(),
              DBL_MIN / 2 - 3 * DBL_TRUE_MIN);
    EXPECT_EQ(sum_of({-3.5, 1.25}).value(), -2.25);
    EXPECT_EQ(sum_of({}).value(), 0.0);
    EXPECT_EQ(sum_of({1.0, -1.0}).value(), 0.0);
    EXPECT_TRUE(std::isnan(sum_of({1.0, HUGE_VAL, -HUGE_VAL}).value()));
    EXPECT_EQ(sum_of({1.0, HUGE_VAL}).value(), HUGE_VAL);
}

TEST(ExactSum, ReadingRoundsOnceToNearestEven) {
    const double u = std::ldexp(1.0, -53);                                   // half an ulp of 1
    EXPECT_EQ(sum_of({1.0, u}).value(), 1.0);                                // a tie: to even
    EXPECT_EQ(sum_of({1.0, u, std::ldexp(1.0, -200)}).value(), 1.0 + 2 * u); // above the tie
    EXPECT_EQ(sum_of({1.0, u, -std::ldexp(1.0, -200)}).value(), 1.0);        // below it
    EXPECT_EQ(sum_of({1.0 + 2 * u, u}).value(), 1.0 + 4 * u); // a tie from an odd mantissa: up
    EXPECT_EQ(sum_of({-1.0, -u, -std::ldexp(1.0, -200)}).value(), -(1.0 + 2 * u));
    // Far-apart terms whose sticky part lies three digits below the top.
    EXPECT_EQ(sum_of({std::ldexp(1.0, 100), std::ldexp(1.0, 47), std::ldexp(1.0, -10)}).value(),
              std::ldexp(1.0, 100) + std::ldexp(1.0, 48));
}

TEST(ExactSum, AnyOrderAndGroupingGivesTheSameDigits) {
    std::mt19937_64 gen(3);
    std::normal_distribution<double> normal;
    std::vector<double> xs;
    for (int i = 0; i < 20000; ++i)
        xs.push_back(std::ldexp(normal(gen), int(gen() % 80) - 40));
    const ExactSum whole = sum_of(xs);
    double naive = 0, naive_reversed = 0;
    for (double x : xs)
        naive += x;
    for (auto it = xs.rbegin(); it != xs.rend(); ++it)
        naive_reversed += *it;
    EXPECT_NE(naive, naive_reversed); // the data do expose rounding-order effects
    std::shuffle(xs.begin(), xs.end(), gen);
    EXPECT_EQ(sum_of(xs).digits(), whole.digits());
    // Three uneven parts added in two groupings.
    ExactSum a = sum_of({xs.begin(), xs.begin() + 7}), b = sum_of({xs.begin() + 7, xs.end() - 999}),
             c = sum_of({xs.end() - 999, xs.end()});
    ExactSum left = a, right = b;
    left += b;
    left += c;
    right += c;
    right += a;
    EXPECT_EQ(left.digits(), whole.digits());
    EXPECT_EQ(right.value(), whole.value());
    EXPECT_EQ(ExactSum::from_digits(whole.digits().data()).value(), whole.value());
    // Rounded once: within an ulp of the long-double sum of the sorted terms.
    std::sort(xs.begin(), xs.end(), [](double p, double q) { return std::fabs(p) < std::fabs(q); });
    long double reference = 0;
    for (double x : xs)
        reference += x;
    EXPECT_NEAR(whole.value(), double(reference), 4 * std::fabs(double(reference)) * DBL_EPSILON);
}

TEST(ExactSum, ManyAddsNormaliseWithoutOverflow) {
    ExactSum s;
    const std::int64_t n = (std::int64_t(1) << 30) + 5; // crosses the deferred-carry limit
    for (std::int64_t i = 0; i < n; ++i)
        s.add(4294967295.0); // 2^32 - 1: a full digit each time
    EXPECT_EQ(s.value(), double(n) * 4294967295.0);
}

TEST(Shards, RangesAreWholeBlocksThatCoverEveryWalkerOnce) {
    for (std::uint64_t walkers : {1ull, 4096ull, 20000ull, 1000000ull, 10000000000ull})
        for (std::uint64_t k : {1ull, 2ull, 3ull, 7ull, 64ull}) {
            std::uint64_t covered = 0, largest = 0, smallest = ~0ull;
            for (std::uint64_t i = 0; i < k; ++i) {
                const WalkerRange r = shard_range(walkers, {i, k});
                ASSERT_EQ(r.begin, covered) << walkers << " " << i << "/" << k;
                ASSERT_LE(r.begin, r.end);
                EXPECT_EQ(r.begin % kMomentBlock, 0u);
                covered = r.end;
                largest = std::max(largest, r.end - r.begin);
                smallest = std::min(smallest, r.end - r.begin);
            }
            EXPECT_EQ(covered, walkers);
            // Near-equal: at most one block (plus the short last block) apart.
            EXPECT_LE(largest - std::min(largest, smallest), 2 * kMomentBlock);
        }
    EXPECT_THROW(shard_range(100, {2, 2}), Error);
    EXPECT_THROW(shard_range(100, {0, 0}), Error);
}
