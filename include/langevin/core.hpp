// Shared macros and portable math: compiles under g++ and nvcc, makes no CUDA runtime call.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#include "host_math.hpp"

#if defined(__CUDACC__)
#define LGV_HD __host__ __device__
#define LGV_INLINE __forceinline__
#define LGV_UNROLL _Pragma("unroll")
#else
#define LGV_HD
#define LGV_INLINE LGV_HOST_INLINE
// Unrolled before vectorisation, so the CPU backend's loop over walkers holds no inner loop.
#define LGV_UNROLL _Pragma("GCC unroll 16")
#endif

namespace langevin {

/// Float or double, selected per run (`ensemble.precision`).
enum class Precision { float32, float64 };

/// pi, rounded to double.
constexpr double kPi = 3.141592653589793238462643383279502884;

// Overloads that resolve to the CUDA math library on the device and to libm or host_math.hpp
// on the host; std:: functions are not callable from device code.
/// e^x: host_math::exp on the host (branch-free, so the CPU backend's lanes vectorise).
LGV_HD LGV_INLINE float lgv_exp(float x) {
#if defined(__CUDA_ARCH__)
    return ::expf(x);
#else
    return host_math::exp(x);
#endif
}
LGV_HD LGV_INLINE double lgv_exp(double x) {
#if defined(__CUDA_ARCH__)
    return ::exp(x);
#else
    return host_math::exp(x);
#endif
}
LGV_HD LGV_INLINE float lgv_sqrt(float x) {
    return ::sqrtf(x);
}
LGV_HD LGV_INLINE double lgv_sqrt(double x) {
    return ::sqrt(x);
}
/// The larger of a and b, and b when a is NaN (as fmax; b must not be NaN): fmax on the device; on
/// the host a bitwise select on the sign of b - a and on a's bits, which the CPU backend's lanes
/// vectorise (a ?: on doubles stays a branch, and fmax a call).
LGV_HD LGV_INLINE double lgv_max(double a, double b) {
#if defined(__CUDA_ARCH__)
    return ::fmax(a, b);
#else
    const std::uint64_t magnitude = host_math::bit_cast<std::uint64_t>(a) & ~(1ull << 63);
    const std::uint64_t a_is_nan = (0x7ff0000000000000ull - magnitude) >> 63; // above inf
    return host_math::select(host_math::detail::below(b, a) & (a_is_nan ^ 1), a, b);
#endif
}
LGV_HD LGV_INLINE float lgv_sin(float x) {
    return ::sinf(x);
}
LGV_HD LGV_INLINE double lgv_sin(double x) {
    return ::sin(x);
}
LGV_HD LGV_INLINE float lgv_cos(float x) {
    return ::cosf(x);
}
LGV_HD LGV_INLINE double lgv_cos(double x) {
    return ::cos(x);
}

/// a * b + c. On the device one explicit FMA (one rounding), so the value does not depend on
/// where the expression is inlined (the CUDA build never contracts on its own: --fmad=false);
/// on the host a product then a sum (the host build never contracts: -ffp-contract=off).
LGV_HD LGV_INLINE float lgv_fma(float a, float b, float c) {
#if defined(__CUDA_ARCH__)
    return __fmaf_rn(a, b, c);
#else
    return a * b + c;
#endif
}
LGV_HD LGV_INLINE double lgv_fma(double a, double b, double c) {
#if defined(__CUDA_ARCH__)
    return __fma_rn(a, b, c);
#else
    return a * b + c;
#endif
}

/// sin(pi x), cos(pi x): periodic arguments without the cost (or the slow path) of reducing
/// 2 pi x; CUDA's sinpif/cospif on the device, host_math's branch-free ones on the host.
LGV_HD LGV_INLINE float lgv_sinpi(float x) {
#if defined(__CUDA_ARCH__)
    return ::sinpif(x);
#else
    return host_math::sinpi(x);
#endif
}
LGV_HD LGV_INLINE double lgv_sinpi(double x) {
#if defined(__CUDA_ARCH__)
    return ::sinpi(x);
#else
    return host_math::sinpi(x);
#endif
}
LGV_HD LGV_INLINE float lgv_cospi(float x) {
#if defined(__CUDA_ARCH__)
    return ::cospif(x);
#else
    return host_math::cospi(x);
#endif
}
LGV_HD LGV_INLINE double lgv_cospi(double x) {
#if defined(__CUDA_ARCH__)
    return ::cospi(x);
#else
    return host_math::cospi(x);
#endif
}
/// sin(2 pi x) for forces. float32 on the device: the hardware sine (__sinf) of 2 pi r after the
/// exact reduction x = n + r, |r| <= 1/2, a third of sinpif's cost (which dominated float32
/// Rastrigin steps). Its absolute error is below kSin2piFastError for every x: CUDA's bound for
/// __sinf on [-pi, pi] (2^-21.41) + rounding 2 pi r (2^-23) + the float 2 pi (pi 2^-24); at
/// r = +-1/2 the argument is +-3.14159274, an ulp outside [-pi, pi] (the GPU test covers it).
/// Otherwise sin(pi 2x) to ~1 ulp (lgv_sinpi).
constexpr double kSin2piFastError = 6.7e-7;
LGV_HD LGV_INLINE float lgv_sin_2pi(float x) {
#if defined(__CUDA_ARCH__)
    return __sinf(6.28318531f * (x - rintf(x)));
#else
    return lgv_sinpi(2.0f * x);
#endif
}
LGV_HD LGV_INLINE double lgv_sin_2pi(double x) {
    return lgv_sinpi(2.0 * x);
}
LGV_HD LGV_INLINE float lgv_log1p(float x) {
    return ::log1pf(x);
}
LGV_HD LGV_INLINE double lgv_log1p(double x) {
    return ::log1p(x);
}

/// True unless x is NaN or ±inf. Bit test, so it survives any optimisation setting.
LGV_HD LGV_INLINE bool lgv_isfinite(float x) {
    std::uint32_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    return (bits & 0x7f800000u) != 0x7f800000u;
}
LGV_HD LGV_INLINE bool lgv_isfinite(double x) {
    std::uint64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    return (bits & 0x7ff0000000000000ull) != 0x7ff0000000000000ull;
}

} // namespace langevin
