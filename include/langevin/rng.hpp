// Counter-based random streams: cuRAND's Philox4_32_10 device API, compiled for host and device.
//
// A stream is keyed by (seed, purpose); walker i uses subsequence i. The dynamics read the
// walker's normals as one sequence, step t taking normals [t D, t D + D); normals come four per
// curand_normal4 call (float32) or two per curand_normal2_double call (float64), four 32-bit words
// each, so steps are grouped: a group of lcm(D, per call) / D steps uses whole calls, and group g
// starts at word g * (words per group). No state is stored between launches, so a trajectory is a
// pure function of (seed, walker, initial state, model, schedule), whatever the launch shape.
// This is the ONLY file that includes curand_kernel.h.
#pragma once

#include "langevin/core.hpp"
#include "langevin/vec.hpp"

#if !defined(QUALIFIERS)
#if defined(__CUDACC__)
#define QUALIFIERS static __forceinline__ __host__ __device__
#else
#define QUALIFIERS static inline
#endif
#endif
#include <curand_kernel.h>

namespace langevin {

/// What a stream is used for: each purpose is an independent key for the same seed.
enum class Purpose : std::uint32_t {
    dynamics = 0,
    init_position = 1,
    init_velocity = 2,
    data = 3,      ///< synthetic data sets (pair i: subsequence i)
    minibatch = 4, ///< SGD mini-batch indices (walker w: subsequence w)
};

/// Philox key of (seed, purpose). Dynamics uses the seed unchanged, so a bare cuRAND loop with
/// curand_init(seed, walker, 0) reproduces our Euler-Maruyama noise.
LGV_HD LGV_INLINE std::uint64_t stream_key(std::uint64_t seed, Purpose purpose) {
    if (purpose == Purpose::dynamics)
        return seed;
    // splitmix64 finaliser: decorrelates nearby seeds and purposes.
    std::uint64_t z = seed + 0x9e3779b97f4a7c15ull * (static_cast<std::uint64_t>(purpose) + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/// Normals per cuRAND call: curand_normal4 (float) or curand_normal2_double (double); each
/// call consumes exactly four 32-bit words of the Philox stream.
template <class T> struct NormalsPerCall;
template <> struct NormalsPerCall<float> { static constexpr int value = 4; };
template <> struct NormalsPerCall<double> { static constexpr int value = 2; };

/// 32-bit words consumed when drawing a block of D normals of type T.
template <class T, int D> LGV_HD constexpr std::uint64_t words_per_block() {
    return 4u * ((D + NormalsPerCall<T>::value - 1) / NormalsPerCall<T>::value);
}

namespace detail {
LGV_HD constexpr int gcd(int a, int b) {
    return b == 0 ? a : gcd(b, a % b);
}
} // namespace detail

/// How the dynamics' normals of D-dimensional steps pack into cuRAND calls.
template <class T, int D> struct NormalLayout {
    static constexpr int per_call = NormalsPerCall<T>::value;
    static constexpr int group_normals = D / detail::gcd(D, per_call) * per_call; // lcm
    static constexpr int group_steps = group_normals / D;
    static constexpr int group_calls = group_normals / per_call;
    static constexpr std::uint64_t group_words = 4u * group_calls;
    // 1, 2 or 4 steps: launches of 4k steps from step 4j never split a group (langevin_bench's
    // warm-up relies on it).
    static_assert(4 % group_steps == 0, "a step group divides 4 steps");
};

#if defined(__CUDACC__)
namespace detail {
/// Box-Muller's radius sqrtf(-2 logf(u)) for u = cuRAND's uniform of a word, in [2^-33, 1].
/// sqrtf is MUFU.RSQ and one Newton step for x in [2^-101, FLT_MAX] (correctly rounded there:
/// it is how CUDA's IEEE sqrtf computes it), else a slow path; x = -2 log u is +-0 (u = 1) or in
/// [1.19e-7, 45.8], so the fast path alone, with zero passed through, is bitwise sqrtf without
/// its range test and branch (every word checked on the GPU: Gpu.BoxMullerRadiusIsSqrtf).
__device__ __forceinline__ float box_muller_radius(float u) {
    const float x = -2.0f * logf(u);
    float y;
    asm("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
    const float s = __fmul_rn(x, y), half_y = __fmul_rn(y, 0.5f);
    const float r = __fmaf_rn(__fmaf_rn(-s, s, x), half_y, s);
    return x == 0.0f ? x : r;
}
} // namespace detail
#endif

/// One walker's stream positioned at a word offset.
class WalkerRng {
public:
    LGV_HD LGV_INLINE WalkerRng(std::uint64_t key, std::uint64_t walker, std::uint64_t offset) {
        curand_init(key, walker, offset, &state_);
    }

    /// D independent N(0,1) draws in T; consumes words_per_block<T, D>() words.
    template <class T, int D> LGV_HD LGV_INLINE void normals(Vec<T, D> &out) { fill(out); }

    /// The normals of the next step group (NormalLayout), in order.
    template <class T, int N> LGV_HD LGV_INLINE void fill_group(Vec<T, N> &out) { fill(out); }

    /// The same for the last group a launch draws: on the device its last four words are the
    /// block cuRAND already holds (curand4 computes the block after the one it returns), so no
    /// Philox is computed past it: one block a walker per launch (~1 % of a 100-step launch).
    template <class T, int N> LGV_HD LGV_INLINE void fill_last_group(Vec<T, N> &out) {
        fill(out, true);
    }

    /// D independent uniforms on (0, 1]; consumes words_per_block<T, D>() words.
    template <class T, int D> LGV_HD LGV_INLINE void uniforms(Vec<T, D> &out) { fill_uniform(out); }

    /// Four raw 32-bit words (for the golden known-answer test).
    LGV_HD LGV_INLINE uint4 words() { return curand4(&state_); }

private:
#if defined(__CUDA_ARCH__)
    // curand_normal4 / curand_normal2_double on the device: the same words and the same
    // Box-Muller (_curand_box_muller*, curand_normal.h), with its affine maps of the words as
    // explicit FMAs. The CUDA build has --fmad=false, under which cuRAND's own inline code would
    // round v = y * (2pi / 2^32) + pi / 2^32 twice; the FMA is what nvcc makes of it by default.
    // The other maps have exact products (powers of two), where an FMA changes nothing.
    __device__ static float4 normal4(uint4 w) {
        float4 r;
        const float u0 = __fmaf_rn(float(w.x), CURAND_2POW32_INV, CURAND_2POW32_INV / 2);
        const float v0 = __fmaf_rn(float(w.y), CURAND_2POW32_INV_2PI, CURAND_2POW32_INV_2PI / 2);
        const float u1 = __fmaf_rn(float(w.z), CURAND_2POW32_INV, CURAND_2POW32_INV / 2);
        const float v1 = __fmaf_rn(float(w.w), CURAND_2POW32_INV_2PI, CURAND_2POW32_INV_2PI / 2);
        const float s0 = detail::box_muller_radius(u0), s1 = detail::box_muller_radius(u1);
        __sincosf(v0, &r.x, &r.y);
        __sincosf(v1, &r.z, &r.w);
        return {r.x * s0, r.y * s0, r.z * s1, r.w * s1};
    }
    __device__ static double2 normal2_double(uint4 w) {
        const unsigned long long zx = w.x ^ (static_cast<unsigned long long>(w.y) << 21);
        const unsigned long long zy = w.z ^ (static_cast<unsigned long long>(w.w) << 21);
        const double u =
            __fma_rn(double(zx), CURAND_2POW53_INV_DOUBLE, CURAND_2POW53_INV_DOUBLE / 2.0);
        const double v =
            __fma_rn(double(zy), CURAND_2POW53_INV_DOUBLE * 2.0, CURAND_2POW53_INV_DOUBLE);
        const double s = sqrt(-2.0 * log(u));
        double2 r;
        sincospi(v, &r.x, &r.y);
        return {r.x * s, r.y * s};
    }
    /// The next four words; `last`: the stream's last use, which takes the block curand4 would
    /// return (the offset is a multiple of four words: STATE = 0) without computing the next.
    __device__ LGV_INLINE uint4 next_words(bool last) {
        return last ? state_.output : curand4(&state_);
    }
#endif
    LGV_HD LGV_INLINE float4 next_normal4(bool last) {
#if defined(__CUDA_ARCH__)
        return normal4(next_words(last));
#else
        (void)last;
        return curand_normal4(&state_);
#endif
    }
    LGV_HD LGV_INLINE double2 next_normal2_double(bool last) {
#if defined(__CUDA_ARCH__)
        return normal2_double(next_words(last));
#else
        (void)last;
        return curand_normal2_double(&state_);
#endif
    }

    template <int D> LGV_HD LGV_INLINE void fill(Vec<float, D> &out, bool last = false) {
        LGV_UNROLL
        for (int b = 0; b < (D + 3) / 4; ++b) {
            const float4 r = next_normal4(last && b == (D + 3) / 4 - 1);
            const float q[4] = {r.x, r.y, r.z, r.w};
            LGV_UNROLL
            for (int j = 0; j < 4; ++j)
                if (4 * b + j < D)
                    out[4 * b + j] = q[j];
        }
    }
    template <int D> LGV_HD LGV_INLINE void fill(Vec<double, D> &out, bool last = false) {
        LGV_UNROLL
        for (int b = 0; b < (D + 1) / 2; ++b) {
            const double2 r = next_normal2_double(last && b == (D + 1) / 2 - 1);
            out[2 * b] = r.x;
            if (2 * b + 1 < D)
                out[2 * b + 1] = r.y;
        }
    }

    template <int D> LGV_HD LGV_INLINE void fill_uniform(Vec<float, D> &out) {
        LGV_UNROLL
        for (int b = 0; b < (D + 3) / 4; ++b) {
            const float4 r = curand_uniform4(&state_);
            const float q[4] = {r.x, r.y, r.z, r.w};
            LGV_UNROLL
            for (int j = 0; j < 4; ++j)
                if (4 * b + j < D)
                    out[4 * b + j] = q[j];
        }
    }
    template <int D> LGV_HD LGV_INLINE void fill_uniform(Vec<double, D> &out) {
        LGV_UNROLL
        for (int b = 0; b < (D + 1) / 2; ++b) {
            const double2 r = curand_uniform2_double(&state_);
            out[2 * b] = r.x;
            if (2 * b + 1 < D)
                out[2 * b + 1] = r.y;
        }
    }

    curandStatePhilox4_32_10_t state_;
};

} // namespace langevin
