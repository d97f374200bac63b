// CUDA backend: owns one chunk's device storage; the kernels live in the per-precision units.
#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "cuda_launch.cuh"
#include "langevin/observe.hpp"

namespace langevin {
namespace {

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(const BackendOptions &options) : options_(options) {
        int count = 0;
        LGV_CUDA_CHECK(cudaGetDeviceCount(&count));
        LGV_REQUIRE(options.device >= 0 && options.device < count,
                    "backend.device = ", options.device, ": this machine has ", count,
                    " CUDA device(s)");
        LGV_CUDA_CHECK(cudaSetDevice(options.device));
        LGV_CUDA_CHECK(cudaGetDeviceProperties(&props_, options.device));
    }

    std::string name() const override { return "cuda"; }
    std::string device() const override {
        return detail::concat(props_.name, ", ", props_.totalGlobalMem >> 20, " MiB, sm_",
                              props_.major, props_.minor);
    }
    std::uint64_t max_chunk_walkers(int dim, Precision precision) const override {
        std::size_t free_bytes = 0, total = 0;
        LGV_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
        const double per_walker = 2.0 * dim * (precision == Precision::float32 ? 4 : 8) + 8;
        const auto fit = static_cast<std::uint64_t>(0.6 * double(free_bytes) / per_walker);
        // CUB takes int sample counts; chunks of 2^31 - 4096 walkers gave wrong non-finite counts
        // on an H200 (int overflow in tile arithmetic suspected), so stay at 2^30.
        return std::min<std::uint64_t>(fit, std::uint64_t(1) << 30);
    }

    void initialize(const Model &model, const InitSpec &init, std::uint64_t first_walker,
                    std::uint64_t count) override {
        resize(model, first_walker, count);
        if (precision_ == Precision::float32)
            cuda::launch_initialize<float>(model, init, chunk_);
        else
            cuda::launch_initialize<double>(model, init, chunk_);
        LGV_CUDA_CHECK(cudaDeviceSynchronize());
    }

    void advance(const Model &model, std::uint64_t first_step, std::uint64_t n_steps,
                 const std::vector<double> &kT) override {
        if (n_steps == 0 || chunk_.count == 0)
            return;
        if (precision_ == Precision::float32)
            cuda::launch_advance<float>(model, chunk_, first_step, n_steps, kT, options_.block_size,
                                        workspace_);
        else
            cuda::launch_advance<double>(model, chunk_, first_step, n_steps, kT,
                                         options_.block_size, workspace_);
        LGV_CUDA_CHECK(cudaDeviceSynchronize());
    }

    Observation observe(const Model &model, const ObserveSpec &spec) const override {
        Observation out;
        if (precision_ == Precision::float32)
            cuda::launch_observe<float>(model, spec, chunk_, workspace_, out);
        else
            cuda::launch_observe<double>(model, spec, chunk_, workspace_, out);
        return out;
    }

    void save(WalkerState &state) const override {
        const std::size_t size = std::size_t(chunk_.count) * dim_;
        if (precision_ == Precision::float32) {
            std::vector<float> xf(size), vf(size);
            LGV_CUDA_CHECK(cudaMemcpy(xf.data(), chunk_.x, size * 4, cudaMemcpyDeviceToHost));
            LGV_CUDA_CHECK(cudaMemcpy(vf.data(), chunk_.v, size * 4, cudaMemcpyDeviceToHost));
            state.x.assign(xf.begin(), xf.end());
            state.v.assign(vf.begin(), vf.end());
        } else {
            state.x.resize(size);
            state.v.resize(size);
            LGV_CUDA_CHECK(cudaMemcpy(state.x.data(), chunk_.x, size * 8, cudaMemcpyDeviceToHost));
            LGV_CUDA_CHECK(cudaMemcpy(state.v.data(), chunk_.v, size * 8, cudaMemcpyDeviceToHost));
        }
        state.hit.assign(chunk_.hit ? chunk_.count : 0, 0);
        if (chunk_.hit)
            LGV_CUDA_CHECK(
                cudaMemcpy(state.hit.data(), chunk_.hit, chunk_.count * 8, cudaMemcpyDeviceToHost));
    }
    void load(const Model &model, std::uint64_t first_walker, const WalkerState &state) override {
        const int dim = model.dim();
        LGV_REQUIRE(state.x.size() % dim == 0 && state.v.size() == state.x.size(),
                    "load: state arrays do not match dimension ", dim);
        resize(model, first_walker, state.x.size() / dim);
        LGV_REQUIRE(state.hit.size() == (chunk_.hit ? chunk_.count : 0),
                    "load: hit steps do not match the walkers");
        if (precision_ == Precision::float32) {
            std::vector<float> xf(state.x.begin(), state.x.end()),
                vf(state.v.begin(), state.v.end());
            LGV_CUDA_CHECK(cudaMemcpy(chunk_.x, xf.data(), xf.size() * 4, cudaMemcpyHostToDevice));
            LGV_CUDA_CHECK(cudaMemcpy(chunk_.v, vf.data(), vf.size() * 4, cudaMemcpyHostToDevice));
        } else {
            LGV_CUDA_CHECK(
                cudaMemcpy(chunk_.x, state.x.data(), state.x.size() * 8, cudaMemcpyHostToDevice));
            LGV_CUDA_CHECK(
                cudaMemcpy(chunk_.v, state.v.data(), state.v.size() * 8, cudaMemcpyHostToDevice));
        }
        if (chunk_.hit)
            LGV_CUDA_CHECK(cudaMemcpy(chunk_.hit, state.hit.data(), state.hit.size() * 8,
                                      cudaMemcpyHostToDevice));
    }

private:
    void resize(const Model &model, std::uint64_t first_walker, std::uint64_t count) {
        precision_ = model.precision;
        dim_ = model.dim();
        const std::size_t bytes =
            std::size_t(count) * dim_ * (precision_ == Precision::float32 ? 4 : 8);
        chunk_.x = x_.reserve(bytes);
        chunk_.v = v_.reserve(bytes);
        chunk_.hit = model.target.active()
                         ? static_cast<std::uint64_t *>(hit_.reserve(count * sizeof(std::uint64_t)))
                         : nullptr;
        chunk_.first = first_walker;
        chunk_.count = count;
    }

    BackendOptions options_;
    cudaDeviceProp props_{};
    Precision precision_ = Precision::float32;
    int dim_ = 1;
    cuda::DeviceBuffer x_, v_, hit_;
    cuda::DeviceChunk chunk_;
    mutable cuda::Workspace workspace_;
};

} // namespace

int cuda_device_count(std::string *why) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        if (why)
            *why = detail::concat("no usable CUDA device (", cudaGetErrorName(status), ": ",
                                  cudaGetErrorString(status), ")");
        cudaGetLastError(); // clear the error state
        return 0;
    }
    if (count == 0 && why)
        *why = "no CUDA device found";
    return count;
}

std::vector<std::string> cuda_device_descriptions() {
    std::vector<std::string> out;
    const int count = cuda_device_count(nullptr);
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) == cudaSuccess)
            out.push_back(detail::concat("device ", i, ": ", p.name, ", ", p.totalGlobalMem >> 20,
                                         " MiB, sm_", p.major, p.minor, ", ", p.multiProcessorCount,
                                         " SMs"));
    }
    return out;
}

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions &options) {
    return std::make_unique<CudaBackend>(options);
}

} // namespace langevin

namespace langevin::cuda {

DataView device_data(const DataView &host) {
    if (host.n == 0)
        return host;
    static std::mutex mutex;
    static std::map<std::pair<int, std::uint64_t>, std::unique_ptr<DeviceBuffer>> copies;
    int device = 0;
    LGV_CUDA_CHECK(cudaGetDevice(&device));
    const std::lock_guard<std::mutex> lock(mutex);
    auto &copy = copies[{device, host.id}];
    if (!copy) {
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

} // namespace langevin::cuda
