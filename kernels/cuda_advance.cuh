// Initial conditions, and the stepping launch dispatched to the integrator's own unit
// (cuda_step.cuh).
#pragma once

#include <utility>

#include "cuda_launch.cuh"
#include "for_each_walker.cuh"

namespace langevin::cuda {

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

template <class T, std::size_t... I>
void dispatch_advance(std::index_sequence<I...>, const Model &model,
                      const std::vector<StepSegment> &segments, std::uint64_t first_step,
                      std::uint64_t n_steps, const std::vector<double> &kT, int block_size,
                      Workspace &ws, const AfterSegment &after_segment) {
    ((model.integrator.index() == I
          ? launch_advance_integrator<T, I>(model, segments, first_step, n_steps, kT, block_size,
                                            ws, after_segment)
          : void()),
     ...);
}

template <class T>
void launch_advance(const Model &model, const std::vector<StepSegment> &segments,
                    std::uint64_t first_step, std::uint64_t n_steps, const std::vector<double> &kT,
                    int block_size, Workspace &ws, const AfterSegment &after_segment) {
    dispatch_advance<T>(std::make_index_sequence<kIntegratorCount>{}, model, segments, first_step,
                        n_steps, kT, block_size, ws, after_segment);
}

} // namespace langevin::cuda
