// Initial conditions and stepping kernels for float walkers.
#include "cuda_advance.cuh"

namespace langevin::cuda {
template void launch_initialize<float>(const Model &, const InitSpec &, const DeviceChunk &);
template void launch_advance<float>(const Model &, const std::vector<StepSegment> &, std::uint64_t,
                                    std::uint64_t, const std::vector<double> &, int, Workspace &,
                                    const AfterSegment &);
} // namespace langevin::cuda
