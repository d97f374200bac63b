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

namespace detail {
/// The constants of fdlibm's exp in each precision (float32: FreeBSD's e_expf.c).
template <class T> struct ExpConstants;
template <> struct ExpConstants<float> {
    static constexpr float round = 12582912.0f; // 1.5 * 2^23: as kRound, in float
    static constexpr int bias = 127, mantissa_bits = 23;
    static constexpr float top = 89.0f, bottom = -104.0f; // beyond e^x's inf and 0
    // ln 2 = ln2_hi + ln2_lo with ln2_hi's low 9 bits 0: k ln2_hi is exact.
    static constexpr float inv_ln2 = 1.4426950216e+00f, ln2_hi = 6.9314575195e-01f,
                           ln2_lo = 1.4286067653e-06f;
    /// R(t) of the kernel, degree 2.
    LGV_HOST_INLINE static float poly(float t) { return 1.6666625440e-1f + t * -2.7667332906e-3f; }
};
template <> struct ExpConstants<double> {
    static constexpr double round = kRound;
    static constexpr int bias = 1023, mantissa_bits = 52;
    static constexpr double top = 710.0, bottom = -746.0;
    // ln2_hi's low 21 bits 0.
    static constexpr double inv_ln2 = 1.44269504088896338700e+00,
                            ln2_hi = 6.93147180369123816490e-01,
                            ln2_lo = 1.90821492927058770002e-10;
    /// R(t), degree 5.
    LGV_HOST_INLINE static double poly(double t) {
        return 1.66666666666666019037e-01 +
               t * (-2.77777777770155933842e-03 +
                    t * (6.61375632143793436117e-05 +
                         t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08)));
    }
};

/// fdlibm's exp, branch-free: x = k ln2 + r with |r| <= ln2 / 2, e^r = 1 + 2r / (2 - r + r R(r^2))
/// (written 1 - ((lo - r c / (2 - c)) - hi)), e^x = 2^k e^r, scaled in two halves so that
/// subnormal results round once.
template <class T> LGV_HOST_INLINE T exp(T x) {
    using C = ExpConstants<T>;
    const auto two_to = [](T k) { // 2^k for an integer k in the normal exponents' range
        return bit_cast<T>((bit_cast<Bits<T>>(k + C::round) + C::bias) << C::mantissa_bits);
    };
    // A NaN with its sign bit set is "below" both ends: it is left alone.
    const Bits<T> high = below(C::top, x), low = below(x, C::bottom);
    x = select(high & ~low, C::top, select(low & ~high, C::bottom, x));
    const T k = (x * C::inv_ln2 + C::round) - C::round;
    const T hi = x - k * C::ln2_hi, lo = k * C::ln2_lo;
    const T r = hi - lo, t = r * r;
    const T c = r - t * C::poly(t);
    const T y = T(1) - ((lo - (r * c) / (T(2) - c)) - hi);
    // Each half from -75 to 64 (float32), -538 to 512 (float64).
    const T k1 = (k * T(0.5) + C::round) - C::round, k2 = k - k1;
    return y * two_to(k1) * two_to(k2);
}
} // namespace detail

/// e^x in float32, < 1 ulp (FreeBSD's e_expf.c: R of degree 2). inf above 88.72, 0 below
/// -103.97; NaN stays NaN.
LGV_HOST_INLINE float exp(float x) {
    return detail::exp(x);
}
/// e^x in float64, < 1 ulp (fdlibm's e_exp.c: R of degree 5). inf above 709.78, 0 below -745.13;
/// NaN stays NaN.
LGV_HOST_INLINE double exp(double x) {
    return detail::exp(x);
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
