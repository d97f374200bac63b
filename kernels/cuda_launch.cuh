// Launchers of the CUDA backend, one translation unit per (stage, precision) so that the many
// template instantiations compile in parallel.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "cuda_check.cuh"
#include "langevin/backend.hpp"

namespace langevin::cuda {

/// Owning device allocation that only grows.
class DeviceBuffer {
public:
    DeviceBuffer() = default;
    DeviceBuffer(const DeviceBuffer &) = delete;
    DeviceBuffer &operator=(const DeviceBuffer &) = delete;
    ~DeviceBuffer() {
        if (ptr_)
            cudaFree(ptr_);
    }
    void *reserve(std::size_t bytes) {
        LGV_REQUIRE(try_reserve(bytes), "out of device memory for a buffer of ", bytes,
                    " bytes (a smaller [ensemble] chunk needs less)");
        return ptr_;
    }
    /// reserve() that returns false (no error left behind) when the device is out of memory.
    bool try_reserve(std::size_t bytes) {
        if (bytes > size_) {
            if (ptr_)
                LGV_CUDA_CHECK(cudaFree(ptr_));
            ptr_ = nullptr;
            size_ = 0;
            const cudaError_t status = cudaMalloc(&ptr_, std::max<std::size_t>(bytes, 1));
            if (status == cudaErrorMemoryAllocation) {
                cudaGetLastError(); // clear it: the caller goes on without this buffer
                ptr_ = nullptr;
                return false;
            }
            LGV_CUDA_CHECK(status);
            size_ = bytes;
        }
        return true;
    }
    void *get() const { return ptr_; }
    std::size_t size() const { return size_; }
    /// Frees the allocation.
    void release() {
        if (ptr_)
            LGV_CUDA_CHECK(cudaFree(ptr_));
        ptr_ = nullptr;
        size_ = 0;
    }

private:
    void *ptr_ = nullptr;
    std::size_t size_ = 0;
};

/// One chunk of walkers on the device: structure of arrays x[d * count + i].
struct DeviceChunk {
    void *x = nullptr;
    void *v = nullptr;
    std::uint64_t *hit = nullptr; ///< hit steps; null when the model has no target
    std::uint64_t first = 0, count = 0;
};

inline unsigned grid_blocks(std::uint64_t count, int threads) {
    return static_cast<unsigned>((count + threads - 1) / threads);
}

/// Threads per block for `kernel`: `requested`, capped at the most its register use allows
/// (whole warps). cudaFuncGetAttributes is a host-side lookup, cheap next to a launch.
template <class Kernel> int block_threads(Kernel kernel, int requested) {
    cudaFuncAttributes attributes{};
    LGV_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
    return std::max(32, std::min(requested, attributes.maxThreadsPerBlock / 32 * 32));
}

/// Scratch space of the reductions, and the stepping coefficients.
struct Workspace {
    DeviceBuffer counts, block_sums, best, coeffs;
    DeviceBuffer results; ///< raw totals of the observations of one advance_and_observe call
    std::vector<unsigned char> sent_coeffs; ///< what `coeffs` holds
    /// Device copies of data sets by DataView::id: sent on first use, freed with the backend
    /// (data sets are small and immutable).
    std::map<std::uint64_t, std::unique_ptr<DeviceBuffer>> data;

    DataView device_data(const DataView &host) {
        if (host.n == 0)
            return host;
        std::unique_ptr<DeviceBuffer> &copy = data[host.id];
        if (!copy) { // filled before it is kept: a failed copy leaves nothing behind
            auto buffer = std::make_unique<DeviceBuffer>();
            auto *p = static_cast<double *>(buffer->reserve(2 * host.n * sizeof(double)));
            LGV_CUDA_CHECK(cudaMemcpy(p, host.x, host.n * sizeof(double), cudaMemcpyHostToDevice));
            LGV_CUDA_CHECK(
                cudaMemcpy(p + host.n, host.y, host.n * sizeof(double), cudaMemcpyHostToDevice));
            copy = std::move(buffer);
        }
        const auto *p = static_cast<const double *>(copy->get());
        return {p, p + host.n, host.n, host.id};
    }

    /// The device copy of a coefficient table, sent only when it differs from the last one (a
    /// constant schedule sends its one entry once, not at every launch).
    const void *upload_coeffs(const void *table, std::size_t bytes) {
        const auto *bytes_of = static_cast<const unsigned char *>(table);
        // Growing reallocates: nothing is sent any more, even if the new allocation fails (a
        // caller that goes on must not find the old table's match in a fresh buffer).
        if (bytes > coeffs.size())
            sent_coeffs.clear();
        void *device = coeffs.reserve(bytes);
        if (sent_coeffs.size() != bytes ||
            (bytes > 0 && std::memcmp(sent_coeffs.data(), table, bytes) != 0)) {
            sent_coeffs.clear(); // a failed copy must not leave a stale match behind
            LGV_CUDA_CHECK(cudaMemcpy(device, table, bytes, cudaMemcpyHostToDevice));
            sent_coeffs.assign(bytes_of, bytes_of + bytes);
        }
        return device;
    }
};

/// The potential as kernels see it: data-defined losses read the device copy of their data.
template <class Pot> Pot on_device(const Pot &pot, Workspace &ws) {
    if constexpr (is_data_defined<Pot>) {
        Pot p = pot;
        p.data = ws.device_data(pot.data);
        return p;
    } else {
        return pot;
    }
}

template <class T>
void launch_initialize(const Model &model, const InitSpec &init, const DeviceChunk &chunk);

/// One stepping launch of a call: its steps [offset, offset + steps) from the walkers in `in` to
/// `out` (the same arrays, or the two halves of a double buffer), queued on `stream`. `in` and
/// `out` may be a slice of a chunk (slice()): `stride` is then the chunk's walker count.
struct StepSegment {
    std::uint64_t offset = 0, steps = 0;
    DeviceChunk in, out;
    std::uint64_t stride = 0; ///< 0: out.count
    cudaStream_t stream = nullptr;
};

/// Walkers [begin, end) of a chunk whose arrays hold `bytes_per_value`-byte values: pointers into
/// the chunk's arrays (layout stride: the chunk's count).
inline DeviceChunk slice(const DeviceChunk &c, std::uint64_t begin, std::uint64_t end,
                         std::size_t bytes_per_value) {
    DeviceChunk s = c;
    s.x = static_cast<char *>(c.x) + begin * bytes_per_value;
    s.v = static_cast<char *>(c.v) + begin * bytes_per_value;
    s.hit = c.hit ? c.hit + begin : nullptr;
    s.first = c.first + begin;
    s.count = end - begin;
    return s;
}
/// Called after segment k is queued (may queue work that reads its output).
using AfterSegment = std::function<void(std::size_t)>;

/// Integrators in the registry: CMake generates one stepping unit per (precision, index) and
/// must know how many (LANGEVIN_INTEGRATORS in CMakeLists.txt).
constexpr std::size_t kIntegratorCount = LGV_INTEGRATOR_UNITS;
static_assert(kIntegratorCount == std::variant_size_v<Integrator>,
              "CMakeLists.txt: set LANGEVIN_INTEGRATORS to the number of integrators in "
              "include/langevin/integrators.hpp");
/// Queues the segments of a call of n_steps from first_step, each on its stream (kT: one entry,
/// or one per step of the call).
template <class T, std::size_t I>
void launch_advance_integrator(const Model &model, const std::vector<StepSegment> &segments,
                               std::uint64_t first_step, std::uint64_t n_steps,
                               const std::vector<double> &kT, int block_size, Workspace &ws,
                               const AfterSegment &after_segment);
template <class T>
void launch_advance(const Model &model, const std::vector<StepSegment> &segments,
                    std::uint64_t first_step, std::uint64_t n_steps, const std::vector<double> &kT,
                    int block_size, Workspace &ws, const AfterSegment &after_segment = {});

/// u64 words of one observation's raw totals (observe_result_words) on the device.
template <class T>
std::size_t observe_result_words(const Model &model, const ObserveSpec &spec,
                                 const DeviceChunk &chunk);
/// Queues the observation of `chunk` on `stream`; its raw totals go to `result` (device). At most
/// max_blocks CUDA blocks (0: one per moment block); the result does not depend on it.
template <class T>
void enqueue_observe(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                     Workspace &ws, unsigned long long *result, cudaStream_t stream,
                     unsigned max_blocks);
/// Turns raw totals copied to the host into an Observation.
template <class T>
void unpack_observation(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                        const unsigned long long *result, Observation &out);
/// Samples taken queued by advance_and_observe's pipeline in this process (not in turn, as it
/// does without the memory for it): tests check that the pipeline they compare ran.
extern std::atomic<std::uint64_t> queued_sample_count;

/// Observes the chunk now (queue, copy back, unpack).
template <class T>
void launch_observe(const Model &model, const ObserveSpec &spec, const DeviceChunk &chunk,
                    Workspace &ws, Observation &out);

} // namespace langevin::cuda
