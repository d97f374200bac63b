// Shared macros and portable math: compiles under g++ and nvcc, makes no CUDA runtime call.
#pragma once

#include <cmath>
#include <cstdint>
#include <cstring>

#if defined(__CUDACC__)
#define LGV_HD __host__ __device__
#define LGV_INLINE __forceinline__
#define LGV_UNROLL _Pragma("unroll")
#else
#define LGV_HD
#define LGV_INLINE inline
#define LGV_UNROLL
#endif

namespace langevin {

/// Float or double, selected per run (`ensemble.precision`).
enum class Precision { float32, float64 };

// Overloads that resolve to the CUDA math library on the device and libm on the host; std::
// functions are not callable from device code.
LGV_HD LGV_INLINE float lgv_exp(float x) {
    return ::expf(x);
}
LGV_HD LGV_INLINE double lgv_exp(double x) {
    return ::exp(x);
}
LGV_HD LGV_INLINE float lgv_sqrt(float x) {
    return ::sqrtf(x);
}
LGV_HD LGV_INLINE double lgv_sqrt(double x) {
    return ::sqrt(x);
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

namespace detail {
/// sin(pi x) or cos(pi x) on the host: x = n + r with n the nearest integer and |r| <= 1/2
/// (exact), so no large-argument reduction is needed; an odd n flips the sign.
template <class T> inline T host_trig_pi(T x, bool cosine) {
    const T n = std::nearbyint(x), r = x - n, pi_r = T(3.141592653589793238463) * r;
    const T value = cosine ? std::cos(pi_r) : std::sin(pi_r);
    return std::fmod(n, T(2)) == 0 ? value : -value;
}
} // namespace detail

/// sin(pi x), cos(pi x): periodic arguments without the cost (or the slow path) of reducing
/// 2 pi x; CUDA's sinpif/cospif on the device.
LGV_HD LGV_INLINE float lgv_sinpi(float x) {
#if defined(__CUDA_ARCH__)
    return ::sinpif(x);
#else
    return detail::host_trig_pi(x, false);
#endif
}
LGV_HD LGV_INLINE double lgv_sinpi(double x) {
#if defined(__CUDA_ARCH__)
    return ::sinpi(x);
#else
    return detail::host_trig_pi(x, false);
#endif
}
LGV_HD LGV_INLINE float lgv_cospi(float x) {
#if defined(__CUDA_ARCH__)
    return ::cospif(x);
#else
    return detail::host_trig_pi(x, true);
#endif
}
LGV_HD LGV_INLINE double lgv_cospi(double x) {
#if defined(__CUDA_ARCH__)
    return ::cospi(x);
#else
    return detail::host_trig_pi(x, true);
#endif
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
