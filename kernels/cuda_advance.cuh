// Initial conditions and the stepping kernel: one thread per walker, state in registers for all
// n_steps, no dispatch inside the loop.
#pragma once

#include "cuda_launch.cuh"
#include "for_each_walker.cuh"

namespace langevin::cuda {

inline unsigned grid_blocks(std::uint64_t count, int threads) {
    return static_cast<unsigned>((count + threads - 1) / threads);
}

template <class T>
void launch_initialize(const Model &model, const InitSpec &init, const DeviceChunk &chunk) {
    visit_potential_as<T>(model, [&](const auto &, auto, auto Dc) {
        constexpr int D = decltype(Dc)::value;
        const int threads = 256;
        kernels::initialize<T, D><<<grid_blocks(chunk.count, threads), threads>>>(
            init, model.target, model.seed, chunk.first, static_cast<T *>(chunk.x),
            static_cast<T *>(chunk.v), chunk.hit, chunk.count);
        LGV_CUDA_CHECK_LAUNCH();
    });
}

template <class T>
void launch_advance(const Model &model, const DeviceChunk &chunk, std::uint64_t first_step,
                    std::uint64_t n_steps, const std::vector<double> &kT, int block_size,
                    Workspace &ws) {
    visit_model_as<T>(model, [&](const auto &host_pot, const auto &integ, auto, auto Dc) {
        using Pot = std::decay_t<decltype(host_pot)>;
        const Pot pot = on_device(host_pot);
        using Integ = std::decay_t<decltype(integ)>;
        using Coeffs = typename Integ::template Coeffs<T>;
        constexpr int D = decltype(Dc)::value;
        // The integrator's constants at each T_n, computed once on the host: the same values as
        // the CPU backend's.
        std::vector<Coeffs> table;
        // One entry per step when T or the step size (SGD's learning rate) varies.
        const std::size_t entries = steps_vary(integ) ? std::size_t(n_steps) : kT.size();
        for (std::size_t k = 0; k < entries; ++k)
            table.push_back(
                step_coefficients<T>(integ, kT[kT.size() == 1 ? 0 : k], first_step + k));
        auto *coeffs = static_cast<Coeffs *>(ws.coeffs.reserve(sizeof(Coeffs) * table.size()));
        LGV_CUDA_CHECK(cudaMemcpy(coeffs, table.data(), sizeof(Coeffs) * table.size(),
                                  cudaMemcpyHostToDevice));
        const int threads = block_size > 0 ? block_size : 256;
        kernels::advance<Integ, Pot, T, D><<<grid_blocks(chunk.count, threads), threads>>>(
            integ, pot, coeffs, table.size() > 1, model.target, model.seed, chunk.first, first_step,
            n_steps, static_cast<T *>(chunk.x), static_cast<T *>(chunk.v), chunk.hit, chunk.count);
        LGV_CUDA_CHECK_LAUNCH();
    });
}

} // namespace langevin::cuda
