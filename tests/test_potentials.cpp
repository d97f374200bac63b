// The potential contract, for every registered potential: force = -grad E (central differences
// at random points), finite energies, basins that the Boltzmann module can use; plus exact
// reference facts (closed forms and published minima, each cited where it is checked).
#include <cstring>
#include <random>

#include "langevin/model.hpp"
#include "test_support.hpp"

using namespace langevin;

namespace {

template <class P> P make_default(int dim) {
    ParamValues v;
    for (const ParamSpec &s : P::params())
        v[s.name] = {s.default_value};
    return P::make(v, dim);
}

/// Every parameter moved off its default (x 1.37, or 0.3 for a default of 0), so that a force
/// that ignores one (k, a, A, ...) cannot match by the default's being 1 or 0.
template <class P> P make_perturbed(int dim) {
    ParamValues v;
    for (const ParamSpec &s : P::params())
        v[s.name] = {s.default_value == 0 ? 0.3 : 1.37 * s.default_value};
    return P::make(v, dim);
}

template <class P> std::vector<int> dims_to_test() {
    if constexpr (P::fixed_dim > 0)
        return {P::fixed_dim};
    std::vector<int> out;
    for (int d : {1, 2, 3, 8})
        if (dim_compiled(d, CompiledDims{}))
            out.push_back(d);
    return out;
}

} // namespace

TEST(PotentialContract, ForceIsMinusGradientEverywhere) {
    std::mt19937_64 gen(7);
    int tested = 0;
    for_each_alternative<Potential>([&](auto alt) {
        using P = decltype(alt);
        for (int dim : dims_to_test<P>())
            for (const P &pot : {make_default<P>(dim), make_perturbed<P>(dim)})
                with_dim(pot, [&](auto Dc) {
                    constexpr int D = decltype(Dc)::value;
                    for (int trial = 0; trial < 200; ++trial) {
                        Vec<double, D> x;
                        for (int d = 0; d < D; ++d) {
                            const Range r = pot.default_range(d);
                            x[d] = std::uniform_real_distribution<double>(r.lo, r.hi)(gen);
                        }
                        const Vec<double, D> f = pot.force(x);
                        ASSERT_TRUE(std::isfinite(pot.energy(x))) << P::name;
                        for (int d = 0; d < D; ++d) {
                            // Central differences at h and h/2, extrapolated (Richardson, error
                            // O(h^4)); the tolerance is what the two disagree by (a bound on the
                            // O(h^2) truncation left), E's rounding over h, and 1e-9 relative.
                            auto central = [&](double h) {
                                Vec<double, D> up = x, down = x;
                                up[d] += h;
                                down[d] -= h;
                                return (pot.energy(up) - pot.energy(down)) / (2 * h);
                            };
                            const double h = 1e-4, g1 = central(h), g2 = central(h / 2);
                            const double grad = (4 * g2 - g1) / 3;
                            const double rounding = 1e-14 * (1 + std::fabs(pot.energy(x))) / h;
                            const double tolerance =
                                std::fabs(g1 - g2) + rounding + 1e-9 * (1 + std::fabs(grad));
                            EXPECT_NEAR(f[d], -grad, tolerance)
                                << P::name << " D = " << D << " coordinate " << d;
                        }
                        // Separable potentials: E is the sum of their coordinate energies.
                        if constexpr (P::separable) {
                            double sum = 0;
                            for (int d = 0; d < D; ++d)
                                sum += pot.coord_energy(d, x[d]);
                            EXPECT_NEAR(sum, pot.energy(x), 1e-9 * (1 + std::fabs(sum))) << P::name;
                        }
                        // Basins are valid indices.
                        const int b = pot.basin(x);
                        if (pot.basin_count() > 0) {
                            EXPECT_GE(b, 0);
                            EXPECT_LT(b, pot.basin_count());
                        } else {
                            EXPECT_EQ(b, -1);
                        }
                    }
                    // Float and double agree on the force to float accuracy.
                    Vec<float, D> xf;
                    Vec<double, D> xd;
                    for (int d = 0; d < D; ++d) {
                        xd[d] = 0.3 + 0.1 * d;
                        xf[d] = float(xd[d]);
                    }
                    const auto ff = pot.force(xf);
                    const auto fd = pot.force(xd);
                    for (int d = 0; d < D; ++d)
                        EXPECT_NEAR(ff[d], fd[d], 1e-4 * (1 + std::fabs(fd[d]))) << P::name;
                    ++tested;
                });
    });
    EXPECT_GE(tested, 14); // every potential, at its defaults and off them
}

TEST(PotentialFacts, MullerBrown) {
    const MullerBrown mb = make_default<MullerBrown>(2);
    EXPECT_NEAR(mb.energy(Vec<double, 2>{{0.0, 0.0}}), -48.401274173183893, 1e-12);
    const double minima[3][3] = {{-0.558224, 1.441726, -146.699517},
                                 {0.623499, 0.028038, -108.166724},
                                 {-0.050011, 0.466694, -80.767818}};
    for (int m = 0; m < 3; ++m) {
        const Vec<double, 2> x{{minima[m][0], minima[m][1]}};
        EXPECT_NEAR(mb.energy(x), minima[m][2], 1e-5);
        const auto f = mb.force(x);
        EXPECT_LT(std::hypot(f[0], f[1]), 1e-2); // coordinates are given to 6 digits
        EXPECT_EQ(mb.basin(x), m);
    }
    // The saddles separate basins: a small step either side lands in different minima.
    EXPECT_NEAR(mb.energy(Vec<double, 2>{{-0.822002, 0.624313}}), -40.664844, 1e-5);
    EXPECT_NEAR(mb.energy(Vec<double, 2>{{0.212487, 0.292988}}), -72.248940, 1e-5);
    EXPECT_EQ(mb.basin(Vec<double, 2>{{-0.822002 - 0.05, 0.624313 + 0.1}}), 0);
    EXPECT_EQ(mb.basin(Vec<double, 2>{{0.212487 + 0.05, 0.292988 - 0.05}}), 1);
    EXPECT_EQ(mb.basin(Vec<double, 2>{{0.212487 - 0.05, 0.292988 + 0.05}}), 2);
    // Far from the minima the descent must run to its end: points classified by a descent ten
    // times longer (a short one puts 8 % of the default grid in the wrong basin).
    EXPECT_EQ(mb.basin(Vec<double, 2>{{-1.43, -0.4}}), 0);
    EXPECT_EQ(mb.basin(Vec<double, 2>{{-0.998, 0.363}}), 0);
    EXPECT_EQ(mb.basin(Vec<double, 2>{{-0.115, -0.299}}), 1);
    EXPECT_EQ(mb.basin(Vec<double, 2>{{0.919, 0.936}}), 2);
}

TEST(PotentialFacts, MullerBrownDescentStopsEarlyOnlyWhereItsAnswerIsKnown) {
    // The basin descent stops inside a trusted disc around a minimum. That is exact when E is
    // convex on the disc with Hessian eigenvalues below 2/h (h = 1e-4, the descent's step): then
    // every step contracts toward the minimum. Checked over each disc, 5 % wider (the minima are
    // given to 6 digits), with the Hessian from central differences of the force.
    const MullerBrown mb = make_default<MullerBrown>(2);
    for (int m = 0; m < 3; ++m) {
        const double r = 1.05 * mb.trusted_radius[m];
        // Every point of the disc is nearest to minimum m (the minima are >= 0.8 apart).
        EXPECT_LT(r, 0.4);
        double lowest = HUGE_VAL, highest = -HUGE_VAL;
        for (int i = 0; i <= 100; ++i)
            for (int j = 0; j < 360; ++j) {
                const double rho = r * i / 100, phi = 2 * M_PI * j / 360, e = 1e-6;
                const double x = mb.minima[m][0] + rho * std::cos(phi),
                             y = mb.minima[m][1] + rho * std::sin(phi);
                const auto fx1 = mb.force(Vec<double, 2>{{x + e, y}}),
                           fx0 = mb.force(Vec<double, 2>{{x - e, y}}),
                           fy1 = mb.force(Vec<double, 2>{{x, y + e}}),
                           fy0 = mb.force(Vec<double, 2>{{x, y - e}});
                const double hxx = -(fx1[0] - fx0[0]) / (2 * e), hyy = -(fy1[1] - fy0[1]) / (2 * e),
                             hxy = -0.5 * ((fx1[1] - fx0[1]) + (fy1[0] - fy0[0])) / (2 * e);
                const double mean = 0.5 * (hxx + hyy),
                             half_gap = std::sqrt(0.25 * (hxx - hyy) * (hxx - hyy) + hxy * hxy);
                lowest = std::min(lowest, mean - half_gap);
                highest = std::max(highest, mean + half_gap);
            }
        EXPECT_GT(lowest, 10.0) << "minimum " << m; // 196, 155, 67
        EXPECT_LT(highest, 2e4) << "minimum " << m; // 4099 at most
    }
    // The same answers as the full descent: over the default range on a 300 x 300 grid, and just
    // inside and outside each disc's edge. With disc C's radius at 0.3 (not convex) 349 of these
    // points differ; at 0.15 none do, and only the eigenvalue check above fails.
    std::mt19937_64 gen(5);
    std::uniform_real_distribution<double> angle(0, 2 * M_PI), spread(-0.02, 0.02);
    std::vector<Vec<double, 2>> points;
    for (int i = 0; i < 300; ++i)
        for (int j = 0; j < 300; ++j)
            points.push_back({{-1.5 + 2.7 * (i + 0.5) / 300, -0.5 + 2.5 * (j + 0.5) / 300}});
    for (int m = 0; m < 3; ++m)
        for (int k = 0; k < 5000; ++k) {
            const double rho = mb.trusted_radius[m] + spread(gen), phi = angle(gen);
            points.push_back(
                {{mb.minima[m][0] + rho * std::cos(phi), mb.minima[m][1] + rho * std::sin(phi)}});
        }
    int differ = 0;
    for (const auto &p : points)
        differ += mb.basin(p) != mb.descend_to_basin(p, false);
    EXPECT_EQ(differ, 0) << "of " << points.size();
}

TEST(PotentialFacts, MullerBrownDescentStepIsTheCappedStep) {
    // descent_step moves by h f (h = 1e-4), scaled down to length 0.02 when longer, without a
    // branch: times 0.02 / max(len, 0.02), exactly 1 below the cap. Bitwise the branching form
    // (the one basin() used before stop 26) over the default range and beyond, capped or not,
    // also far out where E's fourth term overflows and the step is inf or NaN, and from NaN.
    const MullerBrown mb = make_default<MullerBrown>(2);
    std::mt19937_64 gen(7);
    std::uniform_real_distribution<double> x(-3.0, 3.0), y(-2.0, 3.5), far(30.0, 60.0);
    int capped = 0, free = 0, nonfinite = 0;
    for (int i = 0; i < 200000; ++i) {
        Vec<double, 2> p{{x(gen), y(gen)}};
        // Near the minima too, where steps are short.
        if (i % 2 == 1) {
            const int m = i % 3;
            p = {{mb.minima[m][0] + 0.01 * (x(gen) / 3), mb.minima[m][1] + 0.01 * (y(gen) / 3)}};
        }
        if (i % 100 == 0)
            p = {{i % 200 == 0 ? far(gen) : -far(gen), i % 300 == 0 ? y(gen) : far(gen)}};
        if (i == 50)
            p[1] = NAN;
        const Vec<double, 2> f = mb.force(p);
        double sx = 1e-4 * f[0], sy = 1e-4 * f[1];
        const double len = std::sqrt(sx * sx + sy * sy);
        nonfinite += std::isfinite(len) ? 0 : 1;
        if (len > 0.02) {
            sx *= 0.02 / len;
            sy *= 0.02 / len;
            ++capped;
        } else {
            ++free;
        }
        Vec<double, 2> q = p;
        mb.descent_step(q);
        const double want[2] = {p[0] + sx, p[1] + sy};
        ASSERT_EQ(std::memcmp(&q[0], &want[0], sizeof want), 0)
            << "from (" << p[0] << ", " << p[1] << ")";
    }
    EXPECT_GT(capped, 1000);
    EXPECT_GT(free, 1000);
    EXPECT_GT(nonfinite, 100);
}

TEST(PotentialFacts, RastriginAckleyStyblinskiTang) {
    const Rastrigin r1 = make_default<Rastrigin>(1);
    EXPECT_NEAR(r1.energy(Vec<double, 1>{{0.99495864}}), 0.99495906, 1e-7);
    EXPECT_NEAR(r1.force(Vec<double, 1>{{0.99495864}})[0], 0.0, 1e-5);
    EXPECT_NEAR(r1.barrier, 0.5025, 1e-3);
    EXPECT_EQ(r1.basin(Vec<double, 1>{{0.4}}), 0);
    EXPECT_EQ(r1.basin(Vec<double, 1>{{0.6}}), 1);

    const Ackley a2 = make_default<Ackley>(2);
    EXPECT_NEAR(a2.energy(Vec<double, 2>{{0.0, 0.0}}), 0.0, 1e-12);
    EXPECT_NEAR(a2.energy(Vec<double, 2>{{1.0, 0.0}}), 2.6375310921, 1e-9);
    EXPECT_NEAR(double(a2.energy(Vec<float, 2>{{0.0f, 0.0f}})), 0.0, 1e-5); // float32
    // The global basin is the central unit cell |x_i| < 1/2.
    EXPECT_EQ(a2.basin(Vec<double, 2>{{0.45, -0.45}}), 0);
    EXPECT_EQ(a2.basin(Vec<double, 2>{{0.7, 0.0}}), 1);
    EXPECT_EQ(a2.basin(Vec<double, 2>{{0.0, -0.9}}), 1);

    const StyblinskiTang s3 = make_default<StyblinskiTang>(3);
    const double xm = -2.903534027771177;
    EXPECT_NEAR(s3.energy(Vec<double, 3>{{xm, xm, xm}}), -39.166165703771 * 3, 1e-9);
    EXPECT_NEAR(s3.barrier, 0.15673, 1e-4);
    EXPECT_EQ(s3.basin(Vec<double, 3>{{xm, xm, xm}}), 0);
    EXPECT_EQ(s3.basin(Vec<double, 3>{{xm, 2.7, xm}}), 1);
}

TEST(PotentialFacts, DoubleWellBarrier) {
    ParamValues v{{"a", {1.0}}, {"b", {1.0}}, {"tilt", {0.25}}};
    const DoubleWell dw = DoubleWell::make(v, 1);
    // E'(x_b) = 0 with x_b the middle root; E(x_b) - E(right minimum) = d* = 0.76186 (h = 0.25).
    EXPECT_NEAR(dw.force(Vec<double, 1>{{dw.barrier}})[0], 0.0, 1e-12);
    double right = 1.0;
    for (int i = 0; i < 100; ++i) // Newton on E' near the right well
        right -= (4 * right * (right * right - 1) + 0.25) / (12 * right * right - 4);
    EXPECT_NEAR(dw.energy(Vec<double, 1>{{dw.barrier}}) - dw.energy(Vec<double, 1>{{right}}),
                0.76186, 1e-5);
    EXPECT_EQ(dw.basin(Vec<double, 1>{{-1.0}}), 0);
    EXPECT_EQ(dw.basin(Vec<double, 1>{{1.0}}), 1);
    // Off a = b = 1 the barrier is still E's middle root, inside |x| < b / sqrt(3).
    const DoubleWell wide = DoubleWell::make({{"a", {1.37}}, {"b", {1.37}}, {"tilt", {0.3}}}, 1);
    EXPECT_NEAR(wide.force(Vec<double, 1>{{wide.barrier}})[0], 0.0, 1e-10);
    EXPECT_LT(std::fabs(wide.barrier), 1.37 / std::sqrt(3.0));
}

TEST(PotentialParams, InvalidValuesAreNamed) {
    ParamValues v{{"k", {-1.0}}, {"centre", {0.0}}};
    try {
        Harmonic::make(v, 1);
        FAIL() << "k = -1 accepted";
    } catch (const Error &e) {
        EXPECT_NE(std::string(e.what()).find("[potential] k = -1"), std::string::npos) << e.what();
    }
    ParamValues c{{"k", {1.0}}, {"centre", {0.0, 1.0, 2.0}}};
    EXPECT_THROW(Harmonic::make(c, 2), Error); // 3 values for D = 2
}

// host_math.hpp (the host's exp, sinpi and cospi, which potentials call through core.hpp): against
// long double references. The bounds are the kernels' (< 1 ulp for exp; fdlibm's sin and cos
// ~1 ulp on |value| <= 1 after an exact reduction, as in the float64 normals' test).
TEST(HostMath, Float32ExpIsWithinAnUlp) {
    // Every 99991st float in the range where e^x is neither inf nor 0 (all 2.24e9 of them, run
    // once: worst 0.91 ulp, 0.8 % not correctly rounded).
    double worst = 0;
    int checked = 0, not_rounded = 0;
    for (std::uint32_t bits = 0; bits < 0xffffffffu - 99991; bits += 99991) {
        const float x = host_math::bit_cast<float>(bits);
        if (!(x > -104.0f && x < 89.0f))
            continue;
        ++checked;
        const long double exact = std::exp(static_cast<long double>(x));
        const float got = host_math::exp(x);
        not_rounded += got != float(exact);
        // The float ulp at e^x: 2^-149 below 2^-126 (subnormal floats).
        const long double ulp =
            exact < 0x1p-126L ? 0x1p-149L : std::ldexp(1.0L, std::ilogb(double(exact)) - 23);
        worst = std::max(worst, double(std::fabs(got - exact) / ulp));
    }
    EXPECT_GT(checked, 20000);
    EXPECT_LT(worst, 1.0);
    EXPECT_GT(not_rounded, 0); // float arithmetic, not the float64 value rounded
    EXPECT_EQ(host_math::exp(0.0f), 1.0f);
    EXPECT_EQ(host_math::exp(88.8f), INFINITY); // float's overflow, not double's
    EXPECT_LT(host_math::exp(88.72f), INFINITY);
    EXPECT_EQ(host_math::exp(-104.0f), 0.0f);
    EXPECT_EQ(host_math::exp(-INFINITY), 0.0f);
    EXPECT_EQ(host_math::exp(float(INFINITY)), INFINITY);
    EXPECT_TRUE(std::isnan(host_math::exp(float(NAN))));
    EXPECT_TRUE(std::isnan(host_math::exp(-float(NAN)))); // a NaN whose sign bit is set
}

TEST(HostMath, Float64ExpIsWithinAnUlp) {
    // 2 million doubles spread over the range where e^x is neither inf nor 0, against long double
    // (11 more bits), subnormal results included.
    std::mt19937_64 gen(11);
    std::uniform_real_distribution<double> wide(-745.2, 709.78), near(-1.0, 1.0);
    double worst = 0;
    int not_rounded = 0;
    for (int i = 0; i < 2000000; ++i) {
        const double x = i % 4 == 0 ? near(gen) : i % 4 == 1 ? wide(gen) / 16 : wide(gen);
        const long double exact = std::exp(static_cast<long double>(x));
        const double got = host_math::exp(x);
        not_rounded += got != double(exact);
        // The double ulp at e^x: 2^-1074 below 2^-1022 (subnormal doubles).
        const long double ulp =
            exact < 0x1p-1022L ? 0x1p-1074L : std::ldexp(1.0L, std::ilogb(exact) - 52);
        worst = std::max(worst, double(std::fabs(got - exact) / ulp));
    }
    EXPECT_LT(worst, 1.0);
    EXPECT_GT(worst, 0.5);     // the reference is not the function itself
    EXPECT_GT(not_rounded, 0); // ... nor a correctly rounded one
    EXPECT_EQ(host_math::exp(0.0), 1.0);
    EXPECT_EQ(host_math::exp(709.79), INFINITY);
    EXPECT_LT(host_math::exp(709.78), INFINITY);
    EXPECT_GT(host_math::exp(-745.1), 0.0); // 2^-1074, the least subnormal
    EXPECT_EQ(host_math::exp(-745.2), 0.0);
    EXPECT_EQ(host_math::exp(-INFINITY), 0.0);
    EXPECT_EQ(host_math::exp(double(INFINITY)), INFINITY);
    EXPECT_TRUE(std::isnan(host_math::exp(double(NAN))));
    EXPECT_TRUE(std::isnan(host_math::exp(-double(NAN)))); // a NaN whose sign bit is set
}

TEST(HostMath, SinpiAndCospiAreWithin2ToMinus52ForEveryArgument) {
    std::mt19937_64 gen(7);
    std::uniform_real_distribution<double> wide(-20.0, 20.0);
    const long double pi = 3.141592653589793238462643383279502884L;
    double worst = 0;
    for (int i = 0; i < 1000000; ++i) {
        double x = wide(gen);
        if (i % 3 == 0) // up to 2^60: x = 4m + v must stay exact where doubles are sparse
            x = std::ldexp(x, int(gen() % 56));
        // x = h/2 + r exactly (long double holds x's 53 bits with room), |r| <= 1/4.
        const long double xl = x, half = std::nearbyint(2 * xl) / 2, r = xl - half;
        const long double s = std::sin(pi * r), c = std::cos(pi * r);
        int h = int(std::fmod(2 * half, 4.0L));
        h = (h + 4) % 4;
        const long double rs = h == 0 ? s : h == 1 ? c : h == 2 ? -s : -c;
        const long double rc = h == 0 ? c : h == 1 ? -s : h == 2 ? -c : s;
        worst = std::max(worst, double(std::fabs(host_math::sinpi(x) - rs)));
        worst = std::max(worst, double(std::fabs(host_math::cospi(x) - rc)));
    }
    EXPECT_LT(worst, 0x1p-52);
    EXPECT_GT(worst, 0x1p-55); // the reference is not the function itself
    for (double n : {0.0, 1.0, -3.0, 1e6 + 1, 4503599627370497.0 /* 2^52 + 1 */, 0x1p53, 1e300}) {
        EXPECT_EQ(host_math::sinpi(n), 0.0) << n;
        EXPECT_EQ(host_math::cospi(n), std::fmod(n, 2.0) == 0 ? 1.0 : -1.0) << n;
    }
    EXPECT_EQ(host_math::sinpi(0.5), 1.0);
    EXPECT_EQ(host_math::sinpi(-0.5), -1.0);
    EXPECT_EQ(host_math::sinpi(2251799813685248.5), 1.0); // 2^51 + 1/2
    EXPECT_EQ(host_math::cospi(1.5), 0.0);
    EXPECT_TRUE(std::isnan(host_math::sinpi(INFINITY)));
    EXPECT_TRUE(std::isnan(host_math::cospi(-INFINITY)));
    EXPECT_TRUE(std::isnan(host_math::sinpi(NAN)));
    EXPECT_EQ(host_math::sinpi(0.25f), float(std::sqrt(0.5L))); // float32: rounded once
}
