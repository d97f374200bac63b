// The stepping launch of one integrator (registry index I) for every potential and dimension:
// instantiated once per (precision, integrator) in its own translation unit (CMake generates
// them), so the stepping kernels compile in parallel.
#pragma once

#include <algorithm>

#include "cuda_launch.cuh"
#include "for_each_walker.cuh"

namespace langevin::cuda {

template <class T, std::size_t I>
void launch_advance_integrator(const Model &model, const std::vector<StepSegment> &segments,
                               std::uint64_t first_step, std::uint64_t n_steps,
                               const std::vector<double> &kT, int block_size, Workspace &ws,
                               const AfterSegment &after_segment) {
    using Integ = std::variant_alternative_t<I, Integrator>;
    const Integ &integ = std::get<I>(model.integrator);
    visit_potential_as<T>(model, [&](const auto &host_pot, auto, auto Dc) {
        using Pot = std::decay_t<decltype(host_pot)>;
        const Pot pot = on_device(host_pot, ws);
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
        // Sent once for the whole call, before the first launch: a copy between launches would
        // wait for the queued stepping.
        const auto *coeffs = static_cast<const Coeffs *>(
            ws.upload_coeffs(table.data(), sizeof(Coeffs) * table.size()));
        // A copy from pageable memory may return before it lands, and launches on other streams
        // are not ordered after the default stream: they must not start before what it holds
        // (this table, the walkers' state) is there.
        if (std::any_of(segments.begin(), segments.end(),
                        [](const StepSegment &seg) { return seg.stream != cudaStream_t{}; }))
            LGV_CUDA_CHECK(cudaStreamSynchronize(cudaStream_t{}));
        const bool varying = table.size() > 1;
        const bool checked = varying || model.target.active();
        // A block size never changes a result: a kernel whose registers do not allow the
        // requested block runs with the largest one it allows instead of failing to launch.
        const int threads = block_threads(checked ? kernels::advance<Integ, Pot, T, D, true>
                                                  : kernels::advance<Integ, Pot, T, D, false>,
                                          block_size > 0 ? block_size : 256);
        for (std::size_t k = 0; k < segments.size(); ++k) {
            const StepSegment &seg = segments[k];
            const unsigned blocks = grid_blocks(seg.out.count, threads);
            const T *xin = static_cast<const T *>(seg.in.x),
                    *vin = static_cast<const T *>(seg.in.v);
            T *xout = static_cast<T *>(seg.out.x), *vout = static_cast<T *>(seg.out.v);
            const std::uint64_t first = first_step + seg.offset;
            const std::uint64_t stride = seg.stride ? seg.stride : seg.out.count;
            const auto *c = coeffs + (varying ? seg.offset : 0);
            if (checked)
                kernels::advance<Integ, Pot, T, D, true><<<blocks, threads, 0, seg.stream>>>(
                    integ, pot, c, varying, model.target, model.seed, seg.out.first, first,
                    seg.steps, xin, vin, seg.in.hit, xout, vout, seg.out.hit, seg.out.count,
                    stride);
            else
                kernels::advance<Integ, Pot, T, D, false><<<blocks, threads, 0, seg.stream>>>(
                    integ, pot, c, false, model.target, model.seed, seg.out.first, first, seg.steps,
                    xin, vin, nullptr, xout, vout, nullptr, seg.out.count, stride);
            LGV_CUDA_CHECK_LAUNCH();
            if (after_segment)
                after_segment(k);
        }
    });
}

} // namespace langevin::cuda

/// The explicit instantiation a generated unit holds.
#define LGV_ADVANCE_UNIT(T, I)                                                                     \
    template void langevin::cuda::launch_advance_integrator<T, I>(                                 \
        const langevin::Model &, const std::vector<langevin::cuda::StepSegment> &, std::uint64_t,  \
        std::uint64_t, const std::vector<double> &, int, langevin::cuda::Workspace &,              \
        const langevin::cuda::AfterSegment &);
