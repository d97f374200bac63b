// Observables for float walkers.
#include "cuda_observe.cuh"

namespace langevin::cuda {
template void launch_observe<float>(const Model &, const ObserveSpec &, const DeviceChunk &,
                                    Workspace &, Observation &);
} // namespace langevin::cuda
