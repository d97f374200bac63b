// Normals for the CPU backend, several walkers at a time: the same Philox4_32_10 integers as
// cuRAND (curand_init(key, walker, 4 c); curand4() gives counter c), turned into normals by
// curand_normal4's (float32) or curand_normal2_double's (float64) Box-Muller with branch-free
// polynomial log and sin/cos that the compiler vectorises across walkers. The integers are
// bitwise cuRAND's; the normals differ from libm's by an ulp or two, as the device's already do.
#pragma once

#include <cstdint>
#include <type_traits>

#include "langevin/host_math.hpp"

namespace langevin::cpu {

/// Walkers per vectorised batch.
constexpr int kLanes = 16;

namespace detail {

using host_math::bit_cast;
using host_math::select;

/// Natural log for 0 < x < inf (Cephes logf, ~1 ulp).
inline float log_poly(float x) {
    const std::uint32_t u = bit_cast<std::uint32_t>(x);
    int e = int((u >> 23) & 0xff) - 126; // x = m 2^e, m in [0.5, 1)
    float m = bit_cast<float>((u & 0x007fffffu) | 0x3f000000u);
    // Branch-free (vectorisable): below sqrt(1/2) use 2m and e - 1.
    const int small = m < 0.707106781186547524f;
    e -= small;
    m = select(small, m + m, m) - 1.0f;
    const float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    const float fe = float(e);
    y = y + fe * -2.12194440e-4f;
    y = y - 0.5f * z;
    return m + y + fe * 0.693359375f;
}

/// sin and cos for 0 <= x < 8 (Cephes sinf/cosf reduction by pi/4, ~1 ulp).
inline void sincos_poly(float x, float &s, float &c) {
    int j = int(x * 1.27323954473516f); // 4/pi
    j += j & 1;
    const float y = float(j);
    j &= 7;
    float r = ((x - y * 0.78515625f) - y * 2.4187564849853515625e-4f) - y * 3.77489497744594108e-8f;
    const float z = r * r;
    const float sp =
        ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f) * z * r + r;
    const float cp =
        ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f) * z * z -
        0.5f * z + 1.0f;
    const int swap = (j & 2) != 0;
    const float sv = select(swap, cp, sp), cv = select(swap, sp, cp);
    s = bit_cast<float>(bit_cast<std::uint32_t>(sv) ^ (std::uint32_t(j & 4) << 29)); // sign bit
    c = bit_cast<float>(bit_cast<std::uint32_t>(cv) ^ (std::uint32_t((j + 2) & 4) << 29));
}

/// Philox4_32_10 block `call` of subsequence `walker` under `key`: curand4's words (x, y, z, w).
inline void philox(std::uint64_t key, std::uint64_t call, std::uint64_t walker, std::uint32_t &x,
                   std::uint32_t &y, std::uint32_t &z, std::uint32_t &w) {
    std::uint32_t c0 = std::uint32_t(call), c1 = std::uint32_t(call >> 32);
    std::uint32_t c2 = std::uint32_t(walker), c3 = std::uint32_t(walker >> 32);
    std::uint32_t a = std::uint32_t(key), b = std::uint32_t(key >> 32);
#pragma GCC unroll 10
    for (int round = 0; round < 10; ++round) {
        const std::uint64_t p0 = std::uint64_t(0xD2511F53u) * c0;
        const std::uint64_t p1 = std::uint64_t(0xCD9E8D57u) * c2;
        const std::uint32_t n0 = std::uint32_t(p1 >> 32) ^ c1 ^ a;
        const std::uint32_t n2 = std::uint32_t(p0 >> 32) ^ c3 ^ b;
        c1 = std::uint32_t(p1);
        c3 = std::uint32_t(p0);
        c0 = n0;
        c2 = n2;
        a += 0x9E3779B9u;
        b += 0xBB67AE85u;
    }
    x = c0;
    y = c1;
    z = c2;
    w = c3;
}

/// Natural log for normal 0 < x < inf, < 1 ulp (the FreeBSD/musl e_log.c reduction to
/// [sqrt(2)/2, sqrt(2)) and its polynomial in s = f / (2 + f), which has no branch for such x).
inline double log_poly(double x) {
    const std::uint64_t u = bit_cast<std::uint64_t>(x);
    std::uint32_t hx = std::uint32_t(u >> 32) + (0x3ff00000u - 0x3fe6a09eu);
    const int k = int(hx >> 20) - 0x3ff;
    hx = (hx & 0x000fffffu) + 0x3fe6a09eu;
    const double f = bit_cast<double>((std::uint64_t(hx) << 32) | (u & 0xffffffffu)) - 1.0;
    const double hfsq = 0.5 * f * f, s = f / (2.0 + f), z = s * s, w = z * z;
    const double t1 = w * (3.999999999940941908e-01 +
                           w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    const double t2 = z * (6.666666666666735130e-01 +
                           w * (2.857142874366239149e-01 +
                                w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    const double r = t2 + t1, dk = double(k);
    return s * (hfsq + r) + dk * 1.90821492927058770002e-10 - hfsq + f +
           dk * 6.93147180369123816490e-01; // ln 2 = hi + lo
}

} // namespace detail

/// Box-Muller exactly as _curand_box_muller on the words (a, b), with the polynomial log/sincos.
inline void box_muller(std::uint32_t a, std::uint32_t b, float &n0, float &n1) {
    const float u = float(a) * 2.3283064e-10f + (2.3283064e-10f / 2);
    const float v = float(b) * (2.3283064e-10f * 6.2831855f) + ((2.3283064e-10f * 6.2831855f) / 2);
    const float r = __builtin_sqrtf(-2.0f * detail::log_poly(u));
    float s, c;
    detail::sincos_poly(v, s, c);
    n0 = s * r;
    n1 = c * r;
}

namespace detail {
/// lo ^ (hi << 21) (< 2^53) as a double, exactly, from int32 conversions (which vectorise; uint64
/// ones do not below AVX-512).
inline double words_to_double(std::uint32_t lo, std::uint32_t hi) {
    const std::uint64_t z = lo ^ (std::uint64_t(hi) << 21);
    return double(std::int32_t(z >> 32)) * 4294967296.0 +
           (double(std::int32_t(std::uint32_t(z) ^ 0x80000000u)) + 2147483648.0);
}

/// _curand_box_muller_double's uniforms of the words: u = zx 2^-53 + 2^-54 in (0, 1] and
/// v = zy 2^-52 + 2^-53 in (0, 2] with zx = x ^ (y << 21), zy = z ^ (w << 21)
/// (CURAND_2POW53_INV_DOUBLE).
inline void box_muller_uniforms(std::uint32_t x, std::uint32_t y, std::uint32_t z, std::uint32_t w,
                                double &u, double &v) {
    u = words_to_double(x, y) * 0x1p-53 + 0x1p-54;
    v = words_to_double(z, w) * 0x1p-52 + 0x1p-53;
}
} // namespace detail

/// curand_uniform4's map of a word to (0, 1]: a 2^-32 + 2^-33 in float (_curand_uniform).
inline float uniform(std::uint32_t a) {
    return float(a) * 2.3283064e-10f + (2.3283064e-10f / 2);
}

/// curand_uniform2_double's map of two words to (0, 1]: (lo ^ (hi << 21)) 2^-53 + 2^-54
/// (_curand_uniform_double_hq).
inline double uniform(std::uint32_t lo, std::uint32_t hi) {
    return detail::words_to_double(lo, hi) * 0x1p-53 + 0x1p-54;
}

/// Box-Muller exactly as _curand_box_muller_double on the words (x, y, z, w), with the polynomial
/// log and sincospi (the device's form; cuRAND's host code takes sin(v pi) and cos(v pi)).
inline void box_muller(std::uint32_t x, std::uint32_t y, std::uint32_t z, std::uint32_t w,
                       double &n0, double &n1) {
    double u, v;
    detail::box_muller_uniforms(x, y, z, w, u, v);
    const double r = __builtin_sqrt(-2.0 * detail::log_poly(u));
    double s, c;
    host_math::sincospi_kernel(v, s, c); // v in (0, 2]
    n0 = s * r;
    n1 = c * r;
}

/// Vector instruction sets the normals are compiled for (x86-64; elsewhere only `portable`).
enum class Isa { portable, avx2, avx512 };

/// What the batched draws turn Philox words into: curand_normal4 / curand_normal2_double's
/// normals, or curand_uniform4 / curand_uniform2_double's uniforms on (0, 1].
enum class Draw { normal, uniform };

namespace detail {

/// The draws of `calls` cuRAND calls for kLanes walkers, Sub lanes per vector loop (as many as
/// the instruction set holds without spilling: 16 with AVX-512, 8 with AVX2 or SSE2).
template <class T, Draw draw, int Sub>
[[gnu::always_inline]] inline void philox_lanes(std::uint64_t key, std::uint64_t first_walker,
                                                std::uint64_t first_call, int calls, T *out) {
    constexpr int per_call = std::is_same_v<T, float> ? 4 : 2; // draws per cuRAND call
    alignas(64) T drawn[per_call][Sub];
    for (int part = 0; part < kLanes; part += Sub)
        for (int k = 0; k < calls; ++k) {
            const std::uint64_t call = first_call + std::uint64_t(k);
#pragma omp simd
            for (int l = 0; l < Sub; ++l) {
                std::uint32_t x, y, z, w;
                philox(key, call, first_walker + std::uint64_t(part + l), x, y, z, w);
                if constexpr (draw == Draw::uniform && per_call == 4) {
                    drawn[0][l] = uniform(x);
                    drawn[1][l] = uniform(y);
                    drawn[2][l] = uniform(z);
                    drawn[3][l] = uniform(w);
                } else if constexpr (draw == Draw::uniform) {
                    drawn[0][l] = uniform(x, y);
                    drawn[1][l] = uniform(z, w);
                } else if constexpr (per_call == 4) {
                    box_muller(x, y, drawn[0][l], drawn[1][l]);
                    box_muller(z, w, drawn[2][l], drawn[3][l]);
                } else {
                    box_muller(x, y, z, w, drawn[0][l], drawn[1][l]);
                }
            }
            for (int j = 0; j < per_call; ++j)
                for (int l = 0; l < Sub; ++l)
                    out[(per_call * k + j) * kLanes + part + l] = drawn[j][l];
        }
}

#if defined(__x86_64__) && defined(__GNUC__)
template <class T, Draw draw>
__attribute__((target("avx512f"))) void philox_avx512(std::uint64_t key, std::uint64_t walker,
                                                      std::uint64_t call, int calls, T *out) {
    philox_lanes<T, draw, 16>(key, walker, call, calls, out);
}
template <class T, Draw draw>
__attribute__((target("avx2"))) void philox_avx2(std::uint64_t key, std::uint64_t walker,
                                                 std::uint64_t call, int calls, T *out) {
    philox_lanes<T, draw, 8>(key, walker, call, calls, out);
}
#endif

} // namespace detail

/// The widest instruction set this processor runs.
inline Isa best_isa() {
#if defined(__x86_64__) && defined(__GNUC__)
    static const Isa isa = __builtin_cpu_supports("avx512f") ? Isa::avx512
                           : __builtin_cpu_supports("avx2")  ? Isa::avx2
                                                             : Isa::portable;
    return isa;
#else
    return Isa::portable;
#endif
}

/// out[(P k + j) * kLanes + l] = draw j of call `first_call + k` of walker first_walker + l
/// under `key`, for l < kLanes, k < calls and j < P: curand_normal4 or curand_uniform4 (float,
/// P = 4), curand_normal2_double or curand_uniform2_double (double, P = 2). Lane-minor: the
/// stepping loop reads the same normal of every lane contiguously. Every instruction set gives
/// the same bits (integer and IEEE operations only, no FMA contraction: -ffp-contract=off);
/// `isa` must be one this processor runs (best_isa() and below). The uniforms are cuRAND's
/// bitwise.
template <class T, Draw draw = Draw::normal>
void philox_draws(std::uint64_t key, std::uint64_t first_walker, std::uint64_t first_call,
                  int calls, T *out, Isa isa = best_isa()) {
#if defined(__x86_64__) && defined(__GNUC__)
    if (isa == Isa::avx512)
        return detail::philox_avx512<T, draw>(key, first_walker, first_call, calls, out);
    if (isa == Isa::avx2)
        return detail::philox_avx2<T, draw>(key, first_walker, first_call, calls, out);
#endif
    (void)isa;
    detail::philox_lanes<T, draw, 8>(key, first_walker, first_call, calls, out);
}

/// philox_draws' normals.
template <class T>
void philox_normals(std::uint64_t key, std::uint64_t first_walker, std::uint64_t first_call,
                    int calls, T *normals, Isa isa = best_isa()) {
    philox_draws<T, Draw::normal>(key, first_walker, first_call, calls, normals, isa);
}

} // namespace langevin::cpu
