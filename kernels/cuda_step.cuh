// The stepping launch of one integrator (registry index I) for every potential and dimension:
// instantiated once per (precision, integrator) in its own translation unit (CMake generates
// them), so the stepping kernels compile in parallel.
#pragma once

#include "cuda_launch.cuh"
#include "for_each_walker.cuh"

namespace langevin::cuda {

template <class T, std::size_t I>
void launch_advance_integrator(const Model &model, const DeviceChunk &chunk,
                               std::uint64_t first_step, std::uint64_t n_steps,
                               const std::vector<double> &kT, int block_size, Workspace &ws) {
    using Integ = std::variant_alternative_t<I, Integrator>;
    const Integ &integ = std::get<I>(model.integrator);
    visit_potential_as<T>(model, [&](const auto &host_pot, auto, auto Dc) {
        using Pot = std::decay_t<decltype(host_pot)>;
        const Pot pot = on_device(host_pot);
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
        const auto *coeffs = static_cast<const Coeffs *>(
            ws.upload_coeffs(table.data(), sizeof(Coeffs) * table.size()));
        const int threads = block_size > 0 ? block_size : 256;
        const bool varying = table.size() > 1;
        const unsigned blocks = grid_blocks(chunk.count, threads);
        if (varying || model.target.active())
            kernels::advance<Integ, Pot, T, D, true>
                <<<blocks, threads>>>(integ, pot, coeffs, varying, model.target, model.seed,
                                      chunk.first, first_step, n_steps, static_cast<T *>(chunk.x),
                                      static_cast<T *>(chunk.v), chunk.hit, chunk.count);
        else
            kernels::advance<Integ, Pot, T, D, false>
                <<<blocks, threads>>>(integ, pot, coeffs, false, model.target, model.seed,
                                      chunk.first, first_step, n_steps, static_cast<T *>(chunk.x),
                                      static_cast<T *>(chunk.v), nullptr, chunk.count);
        LGV_CUDA_CHECK_LAUNCH();
    });
}

} // namespace langevin::cuda

/// The explicit instantiation a generated unit holds.
#define LGV_ADVANCE_UNIT(T, I)                                                                     \
    template void langevin::cuda::launch_advance_integrator<T, I>(                                 \
        const langevin::Model &, const langevin::cuda::DeviceChunk &, std::uint64_t,               \
        std::uint64_t, const std::vector<double> &, int, langevin::cuda::Workspace &);
