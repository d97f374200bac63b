// Error checking for every CUDA runtime and CUB call, and after every launch.
#pragma once

#include <cstdlib>
#include <cuda_runtime.h>

#include "langevin/error.hpp"

namespace langevin {

inline void cuda_check(cudaError_t status, const char *expr, const char *file, int line) {
    if (status != cudaSuccess) {
        // Reported here, so cleared (unless sticky): a caller that goes on must not see it again
        // from the next launch check.
        cudaGetLastError();
        throw CudaError(detail::concat(file, ":", line, ": ", expr, " failed: ",
                                       cudaGetErrorName(status), ": ", cudaGetErrorString(status)));
    }
}

/// LANGEVIN_CUDA_SYNC=1 synchronises after each launch so an error names its kernel.
inline bool cuda_sync_after_launch() {
    static const bool sync = [] {
        const char *v = std::getenv("LANGEVIN_CUDA_SYNC");
        return v && v[0] == '1';
    }();
    return sync;
}

} // namespace langevin

#define LGV_CUDA_CHECK(expr) ::langevin::cuda_check((expr), #expr, __FILE__, __LINE__)

/// After a launch: the launch error, and with LANGEVIN_CUDA_SYNC=1 the execution error.
#define LGV_CUDA_CHECK_LAUNCH()                                                                    \
    do {                                                                                           \
        LGV_CUDA_CHECK(cudaGetLastError());                                                        \
        if (::langevin::cuda_sync_after_launch())                                                  \
            LGV_CUDA_CHECK(cudaDeviceSynchronize());                                               \
    } while (0)
