// Observables for double walkers.
#include "cuda_observe.cuh"

namespace langevin::cuda {
template void launch_observe<double>(const Model &, const ObserveSpec &, const DeviceChunk &,
                                     Workspace &, Observation &);
} // namespace langevin::cuda
