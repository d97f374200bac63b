// Float32 normals for the CPU backend, several walkers at a time: the same Philox4_32_10
// integers as cuRAND (curand_init(key, walker, 4 c); curand4() gives counter c), turned into
// normals by curand_normal4's Box-Muller with branch-free polynomial log and sin/cos (Cephes)
// that the compiler vectorises across walkers. The integers are bitwise cuRAND's; the normals
// differ from libm's by an ulp or two, as the device's already do.
#pragma once

#include <cstdint>
#include <cstring>

namespace langevin::cpu {

/// Walkers per vectorised batch.
constexpr int kLanes = 8;

namespace detail {

inline float bits_to_float(std::uint32_t u) {
    float f;
    std::memcpy(&f, &u, sizeof f);
    return f;
}
inline std::uint32_t float_to_bits(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, sizeof u);
    return u;
}

/// a when flag is 1, b when 0: a bitwise select, exact and branch-free.
inline float select(int flag, float a, float b) {
    const std::uint32_t mask = 0u - std::uint32_t(flag);
    return bits_to_float((float_to_bits(a) & mask) | (float_to_bits(b) & ~mask));
}

/// Natural log for 0 < x < inf (Cephes logf, ~1 ulp).
inline float log_poly(float x) {
    const std::uint32_t u = float_to_bits(x);
    int e = int((u >> 23) & 0xff) - 126; // x = m 2^e, m in [0.5, 1)
    float m = bits_to_float((u & 0x007fffffu) | 0x3f000000u);
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
    s = bits_to_float(float_to_bits(sv) ^ (std::uint32_t(j & 4) << 29)); // sign bit
    c = bits_to_float(float_to_bits(cv) ^ (std::uint32_t((j + 2) & 4) << 29));
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

/// normals[(4 k + j) * kLanes + l] = normal j of curand_normal4 call `first_call + k` of walker
/// first_walker + l under `key`, for l < kLanes and k < calls (lane-minor: the stepping loop
/// reads the same normal of every lane contiguously).
#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target_clones("avx2", "default")))
#endif
inline void
philox_normals(std::uint64_t key, std::uint64_t first_walker, std::uint64_t first_call, int calls,
               float *normals) {
    const std::uint32_t k0 = std::uint32_t(key), k1 = std::uint32_t(key >> 32);
    alignas(32) float o0[kLanes], o1[kLanes], o2[kLanes], o3[kLanes];
    for (int k = 0; k < calls; ++k) {
        const std::uint64_t call = first_call + std::uint64_t(k);
#pragma omp simd
        for (int l = 0; l < kLanes; ++l) {
            const std::uint64_t walker = first_walker + std::uint64_t(l);
            std::uint32_t c0 = std::uint32_t(call), c1 = std::uint32_t(call >> 32);
            std::uint32_t c2 = std::uint32_t(walker), c3 = std::uint32_t(walker >> 32);
            std::uint32_t a = k0, b = k1;
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
            box_muller(c0, c1, o0[l], o1[l]);
            box_muller(c2, c3, o2[l], o3[l]);
        }
        for (int l = 0; l < kLanes; ++l) {
            normals[(4 * k + 0) * kLanes + l] = o0[l];
            normals[(4 * k + 1) * kLanes + l] = o1[l];
            normals[(4 * k + 2) * kLanes + l] = o2[l];
            normals[(4 * k + 3) * kLanes + l] = o3[l];
        }
    }
}

} // namespace langevin::cpu
