// The hand-written reference the engine is measured against in the same run: the bare fused
// loop a CUDA programmer would write for the reference workload (1-D tilted double well
// E = (x^2 - 1)^2 + 0.1 x, Euler-Maruyama, dt = 1e-3, T = 0.5): one thread per walker, the
// walker in a register, cuRAND Philox normals four (float) or two (double) at a time, no
// histogram, no reproducibility contract across launch splits, default FMA contraction.
// Also: Rastrigin D = 8 (sinpif, as the engine), and Philox curand_normal4 alone (the RNG
// ceiling). Prints one JSON line per kernel: median of --repeats timed launches after a warm-up.
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <curand_kernel.h>

namespace {

#define CHECK(call)                                                                                \
    do {                                                                                           \
        const cudaError_t e = (call);                                                              \
        if (e != cudaSuccess) {                                                                    \
            std::fprintf(stderr, "%s: %s\n", #call, cudaGetErrorString(e));                        \
            std::exit(1);                                                                          \
        }                                                                                          \
    } while (0)

constexpr float kDrift = 1e-3f;                 // dt / gamma
constexpr float kNoise = 0.031622776601683794f; // sqrt(2 T dt), T = 0.5
constexpr double kNoise64 = 0.031622776601683794;

__device__ __forceinline__ float well_force(float x) {
    return -(4.f * x * (x * x - 1.f) + 0.1f);
}

__global__ void double_well_f32(float *xs, unsigned long long seed, int steps, long long n) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    curandStatePhilox4_32_10_t s;
    curand_init(seed, i, 0, &s);
    float x = xs[i];
    int t = 0;
    for (; t + 4 <= steps; t += 4) {
        const float4 r = curand_normal4(&s);
        x += kDrift * well_force(x) + kNoise * r.x;
        x += kDrift * well_force(x) + kNoise * r.y;
        x += kDrift * well_force(x) + kNoise * r.z;
        x += kDrift * well_force(x) + kNoise * r.w;
    }
    if (t < steps) { // the last 1 to 3 steps: exactly `steps` steps, as the engine takes
        const float4 r = curand_normal4(&s);
        const float rest[3] = {r.x, r.y, r.z};
        for (int k = 0; t < steps; ++t, ++k)
            x += kDrift * well_force(x) + kNoise * rest[k];
    }
    xs[i] = x;
}

__global__ void double_well_f64(double *xs, unsigned long long seed, int steps, long long n) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    curandStatePhilox4_32_10_t s;
    curand_init(seed, i, 0, &s);
    double x = xs[i];
    int t = 0;
    for (; t + 2 <= steps; t += 2) {
        const double2 r = curand_normal2_double(&s);
        x += 1e-3 * -(4.0 * x * (x * x - 1.0) + 0.1) + kNoise64 * r.x;
        x += 1e-3 * -(4.0 * x * (x * x - 1.0) + 0.1) + kNoise64 * r.y;
    }
    if (t < steps) // an odd step count: the last step
        x += 1e-3 * -(4.0 * x * (x * x - 1.0) + 0.1) + kNoise64 * curand_normal2_double(&s).x;
    xs[i] = x;
}

__global__ void rastrigin8_f32(float *xs, unsigned long long seed, int steps, long long n) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    curandStatePhilox4_32_10_t s;
    curand_init(seed, i, 0, &s);
    float x[8];
    for (int d = 0; d < 8; ++d)
        x[d] = xs[d * n + i];
    for (int t = 0; t < steps; ++t) {
        const float4 a = curand_normal4(&s), b = curand_normal4(&s);
        const float xi[8] = {a.x, a.y, a.z, a.w, b.x, b.y, b.z, b.w};
#pragma unroll
        for (int d = 0; d < 8; ++d) {
            const float f = -(2.f * x[d] + 62.83185307f * sinpif(2.f * x[d]));
            x[d] += kDrift * f + kNoise * xi[d];
        }
    }
    for (int d = 0; d < 8; ++d)
        xs[d * n + i] = x[d];
}

__global__ void philox_normals_only(float *xs, unsigned long long seed, int calls, long long n) {
    const long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    curandStatePhilox4_32_10_t s;
    curand_init(seed, i, 0, &s);
    float sum = 0;
    for (int t = 0; t < calls; ++t) {
        const float4 r = curand_normal4(&s);
        sum += (r.x + r.y) + (r.z + r.w);
    }
    xs[i] = sum;
}

template <class Launch> double median_seconds(Launch launch, int repeats) {
    cudaEvent_t start, stop;
    CHECK(cudaEventCreate(&start));
    CHECK(cudaEventCreate(&stop));
    launch(); // warm-up
    CHECK(cudaDeviceSynchronize());
    std::vector<double> seconds;
    for (int r = 0; r < repeats; ++r) {
        CHECK(cudaEventRecord(start));
        launch();
        CHECK(cudaEventRecord(stop));
        CHECK(cudaEventSynchronize(stop));
        float ms = 0;
        CHECK(cudaEventElapsedTime(&ms, start, stop));
        seconds.push_back(ms * 1e-3);
    }
    std::sort(seconds.begin(), seconds.end());
    const std::size_t h = seconds.size() / 2; // the median, as langevin_bench takes it
    return seconds.size() % 2 ? seconds[h] : 0.5 * (seconds[h - 1] + seconds[h]);
}

/// The value of option `key`: a whole number in [1, most], or the program stops with a message.
long long whole_option(const std::string &key, const char *text, long long most) {
    char *end = nullptr;
    errno = 0;
    const long long v = text ? std::strtoll(text, &end, 10) : 0;
    if (!text || end == text || *end != '\0' || errno == ERANGE || v < 1 || v > most) {
        std::fprintf(stderr, "%s %s: must be a whole number from 1 to %lld\n", key.c_str(),
                     text ? text : "(no value)", most);
        std::exit(2);
    }
    return v;
}

} // namespace

int main(int argc, char **argv) {
    long long n = 1 << 24;
    int steps = 1000, repeats = 5;
    for (int a = 1; a < argc; a += 2) {
        const std::string key = argv[a];
        const char *value = a + 1 < argc ? argv[a + 1] : nullptr;
        if (key == "--n")
            n = whole_option(key, value, 256LL * 0x7fffffff); // the most blocks of 256 a grid has
        else if (key == "--steps")
            steps = int(whole_option(key, value, 1 << 30));
        else if (key == "--repeats")
            repeats = int(whole_option(key, value, 1000000));
        else {
            std::fprintf(stderr,
                         "%s: unknown option; usage: %s [--n N] [--steps S] [--repeats R]\n",
                         key.c_str(), argv[0]);
            return 2;
        }
    }
    cudaDeviceProp props{};
    CHECK(cudaGetDeviceProperties(&props, 0));
    float *x32 = nullptr;
    double *x64 = nullptr;
    CHECK(cudaMalloc(&x32, sizeof(float) * 8 * n));
    CHECK(cudaMalloc(&x64, sizeof(double) * n));
    CHECK(cudaMemset(x32, 0, sizeof(float) * 8 * n));
    CHECK(cudaMemset(x64, 0, sizeof(double) * n));
    const int threads = 256;
    const unsigned blocks = unsigned((n + threads - 1) / threads);
    auto report = [&](const char *label, int dim, double seconds, int per_walker) {
        const double rate = double(n) * per_walker / seconds;
        std::printf("{\"label\": \"%s\", \"device\": \"%s\", \"walkers\": %lld, \"steps\": %d, "
                    "\"walker_steps_per_second\": %.4e, \"coordinate_steps_per_second\": %.4e}\n",
                    label, props.name, n, per_walker, rate, rate * dim);
    };
    report("bare double_well euler_maruyama float32", 1,
           median_seconds([&] { double_well_f32<<<blocks, threads>>>(x32, 1, steps, n); }, repeats),
           steps);
    report("bare double_well euler_maruyama float64", 1,
           median_seconds([&] { double_well_f64<<<blocks, threads>>>(x64, 1, steps, n); }, repeats),
           steps);
    const int r_steps = std::max(1, steps / 8);
    report(
        "bare rastrigin8 euler_maruyama float32", 8,
        median_seconds([&] { rastrigin8_f32<<<blocks, threads>>>(x32, 1, r_steps, n); }, repeats),
        r_steps);
    // Normals per second, reported as "steps" of one normal each.
    const int calls = std::max(1, steps / 4);
    report("philox curand_normal4 alone (normals/s)", 1,
           median_seconds([&] { philox_normals_only<<<blocks, threads>>>(x32, 1, calls, n); },
                          repeats),
           4 * calls);
    CHECK(cudaGetLastError());
    CHECK(cudaFree(x32));
    CHECK(cudaFree(x64));
    return 0;
}
