// Observables for double walkers.
#include "cuda_observe.cuh"

namespace langevin::cuda {
template void launch_observe<double>(const Model &, const ObserveSpec &, const DeviceChunk &,
                                     Workspace &, Observation &);
template std::size_t observe_result_words<double>(const Model &, const ObserveSpec &,
                                                  const DeviceChunk &);
template void enqueue_observe<double>(const Model &, const ObserveSpec &, const DeviceChunk &,
                                      Workspace &, unsigned long long *, cudaStream_t, unsigned);
template void unpack_observation<double>(const Model &, const ObserveSpec &, const DeviceChunk &,
                                         const unsigned long long *, Observation &);
} // namespace langevin::cuda
