// exp, sin(pi x) and cos(pi x) on the host as straight-line IEEE arithmetic: no branch and no libm
// call, so a loop over walkers that calls them vectorises (libm's expf in the step loop kept
// Muller-Brown at a tenth of the double well's CPU rate), every x86 instruction set gives the
// same bits (the build never contracts a * b + c: -ffp-contract=off), and the results do not
// depend on the C library's version. Accuracy: exp < 1 ulp (fdlibm's kernel; FreeBSD's float
// port in float32); sinpi and cospi within 2^-52 in float64, rounded once to float32. The device
// uses CUDA's own functions (core.hpp).
// References: fdlibm 5.3 e_exp.c, k_sin.c, k_cos.c (Sun Microsystems, 1993); FreeBSD e_expf.c.
#pragma once

#include <cstdint>
#include <cstring>
#include <type_traits>

// Always inlined, as the host's LGV_INLINE (core.hpp): the CPU backend compiles its step code once
// per instruction set, and a call from that AVX code to an out-of-line copy (baseline SSE code)
// pays an SSE/AVX transition per call and keeps the loop over walkers scalar.
#if defined(__GNUC__)
#define LGV_HOST_INLINE __attribute__((always_inline)) inline
#else
#define LGV_HOST_INLINE inline
#endif

namespace langevin::host_math {

/// The unsigned integer of T's width.
template <class T> using Bits = std::conditional_t<sizeof(T) == 4, std::uint32_t, std::uint64_t>;

/// The same bits as another type of the same width (std::bit_cast before C++20).
template <class To, class From> LGV_HOST_INLINE To bit_cast(From from) {
    static_assert(sizeof(To) == sizeof(From), "same width");
    To to;
    std::memcpy(&to, &from, sizeof to);
    return to;
}
/// a when flag is 1, b when 0: a bitwise select, exact and branch-free. (A ?: on floating-point
/// values is a branch the vectoriser refuses under the default -ftrapping-math.)
template <class T> LGV_HOST_INLINE T select(Bits<T> flag, T a, T b) {
    const Bits<T> mask = Bits<T>(0) - flag;
    return bit_cast<T>((bit_cast<Bits<T>>(a) & mask) | (bit_cast<Bits<T>>(b) & ~mask));
}

namespace detail {
/// 1.5 * 2^52: x + kRound - kRound is x rounded to the nearest integer for |x| < 2^51, and the
/// sum's low mantissa bits hold that integer (two's complement, mod 2^51).
constexpr double kRound = 6755399441055744.0;
/// 1 where a - b is negative (a < b; a NaN's sign where either is NaN), else 0: the sign bit.
/// Not `a < b`: SSE2 has no vector form of a double comparison's 0/1 as a 64-bit integer.
template <class T> LGV_HOST_INLINE Bits<T> below(T a, T b) {
    return bit_cast<Bits<T>>(a - b) >> (8 * sizeof(T) - 1);
}
} // namespace detail

/// e^x in float32, < 1 ulp: fdlibm's reduction x = k ln2 + r, |r| <= ln2 / 2, and rational kernel
/// e^r = 1 + 2r / (2 - r + r R(r^2)) in float (FreeBSD's e_expf.c: R of degree 2); e^x = 2^k e^r,
/// scaled in two halves so that subnormal results round once. inf above 88.72, 0 below -103.97;
/// NaN stays NaN.
LGV_HOST_INLINE float exp(float x) {
    constexpr float kRoundF = 12582912.0f; // 1.5 * 2^23: as detail::kRound, in float
    const auto two_to = [](float k) {      // 2^k for an integer k from -126 to 127
        return bit_cast<float>((bit_cast<std::uint32_t>(k + kRoundF) + 127) << 23);
    };
    // A NaN with its sign bit set is "below" both ends: it is left alone.
    const std::uint32_t high = detail::below(89.0f, x), low = detail::below(x, -104.0f);
    x = select(high & ~low, 89.0f, select(low & ~high, -104.0f, x));
    const float k = (x * 1.4426950216e+00f + kRoundF) - kRoundF;
    // ln 2 = hi + lo with hi's low 9 bits 0: k hi is exact.
    const float hi = x - k * 6.9314575195e-01f, lo = k * 1.4286067653e-06f;
    const float r = hi - lo, t = r * r;
    const float c = r - t * (1.6666625440e-1f + t * -2.7667332906e-3f);
    const float y = 1.0f - ((lo - (r * c) / (2.0f - c)) - hi);
    const float k1 = (k * 0.5f + kRoundF) - kRoundF, k2 = k - k1; // each from -75 to 64
    return y * two_to(k1) * two_to(k2);
}

/// e^x in float64, < 1 ulp: fdlibm's e_exp.c, branch-free. x = k ln2 + r with |r| <= ln2 / 2 and
/// e^r = 1 + 2r / (2 - r + r R(r^2)) (R of degree 5); e^x = 2^k e^r, scaled in two halves so that
/// subnormal results round once. inf above 709.78, 0 below -745.13; NaN stays NaN.
LGV_HOST_INLINE double exp(double x) {
    using detail::kRound;
    const auto two_to = [](double k) { // 2^k for an integer k from -1022 to 1023
        return bit_cast<double>((bit_cast<std::uint64_t>(k + kRound) + 1023) << 52);
    };
    // A NaN with its sign bit set is "below" both ends: it is left alone.
    const std::uint64_t high = detail::below(710.0, x), low = detail::below(x, -746.0);
    x = select(high & ~low, 710.0, select(low & ~high, -746.0, x));
    const double k = (x * 1.44269504088896338700e+00 + kRound) - kRound;
    // ln 2 = hi + lo with hi's low 21 bits 0: k hi is exact.
    const double hi = x - k * 6.93147180369123816490e-01, lo = k * 1.90821492927058770002e-10;
    const double r = hi - lo, t = r * r;
    const double c =
        r - t * (1.66666666666666019037e-01 +
                 t * (-2.77777777770155933842e-03 +
                      t * (6.61375632143793436117e-05 +
                           t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08))));
    const double y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi);
    const double k1 = (k * 0.5 + kRound) - kRound, k2 = k - k1; // each from -538 to 512
    return y * two_to(k1) * two_to(k2);
}

/// sin(pi v) and cos(pi v) for |v| <= 2, as CUDA's sincospi: 2v = k + f exactly with |f| <= 1/2,
/// then the fdlibm kernels of sin and cos (~1 ulp) at f pi / 2 and the quadrant k mod 4.
LGV_HOST_INLINE void sincospi_kernel(double v, double &s, double &c) {
    using detail::kRound;
    const double t = v + v;
    const double big = t + kRound, kd = big - kRound;
    const std::uint64_t k = bit_cast<std::uint64_t>(big); // its low bits: k mod 4
    const double x = (t - kd) * 1.57079632679489661923, z = x * x;
    const double sp =
        x + x * z *
                (((((1.58969099521155010221e-10 * z - 2.50507602534068634195e-08) * z +
                    2.75573137070700676789e-06) *
                       z -
                   1.98412698298579493134e-04) *
                      z +
                  8.33333333332248946124e-03) *
                     z -
                 1.66666666666666324348e-01);
    const double cp = 1.0 - 0.5 * z +
                      z * z *
                          (((((-1.13596475577881948265e-11 * z + 2.08757232129817482790e-09) * z -
                              2.75573143513906633035e-07) *
                                 z +
                             2.48015872894767294178e-05) *
                                z -
                            1.38888888888741095749e-03) *
                               z +
                           4.16666666666666019037e-02);
    const std::uint64_t swap = k & 1;
    const double sv = select(swap, cp, sp), cv = select(swap, sp, cp);
    s = bit_cast<double>(bit_cast<std::uint64_t>(sv) ^ ((k & 2) << 62)); // sign bit
    c = bit_cast<double>(bit_cast<std::uint64_t>(cv) ^ (((k + 1) & 2) << 62));
}

/// sin(pi x) and cos(pi x) for every x: x = 4m + v exactly with |v| <= 2 (for |x| < 2^53;
/// beyond, x is an even integer: sin 0, cos 1), then sincospi_kernel. NaN and inf give NaN.
LGV_HOST_INLINE void sincospi(double x, double &s, double &c) {
    using detail::kRound;
    const double m = (x * 0.25 + kRound) - kRound;
    const double ax = bit_cast<double>(bit_cast<std::uint64_t>(x) & 0x7fffffffffffffffu);
    const double v = select(detail::below(ax, 9007199254740992.0), x - 4.0 * m, x * 0.0);
    sincospi_kernel(v, s, c);
}
LGV_HOST_INLINE double sinpi(double x) {
    double s, c;
    sincospi(x, s, c);
    return s;
}
LGV_HOST_INLINE double cospi(double x) {
    double s, c;
    sincospi(x, s, c);
    return c;
}
/// float32: the float64 values rounded once.
LGV_HOST_INLINE float sinpi(float x) {
    return float(sinpi(double(x)));
}
LGV_HOST_INLINE float cospi(float x) {
    return float(cospi(double(x)));
}

} // namespace langevin::host_math
