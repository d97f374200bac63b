// The Backend interface: where src/ (host C++) and kernels/ (CUDA) meet. A backend owns the
// walker storage of one chunk and the loop over its walkers, nothing else: the physics comes
// from the shared headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "langevin/exact_sum.hpp"
#include "langevin/model.hpp"
#include "langevin/observe.hpp"

namespace langevin {

/// What one chunk's walkers look like at a sample. Histograms use grid.hpp's slot layout.
struct Observation {
    std::vector<std::uint64_t> marginal; ///< per dimension d: bins_d + 2 slots, concatenated
    std::vector<std::uint64_t> joint;    ///< D = 2 with grid.joint: bins0 * bins1 + 2 slots
    std::vector<std::uint64_t> basins;   ///< finite walkers per basin of the potential
    std::vector<std::uint64_t> passage;  ///< hit-step histogram: bins + 2 slots (0: not hit)
    std::vector<ExactSum> moment_sums;   ///< moment_width(D) sums of kMomentBlock block sums
    std::uint64_t outside_box = 0;       ///< finite walkers outside the grid in any dimension
    Best best;                           ///< lowest energy among finite walkers (global id)
    std::vector<double> best_position;   ///< that walker's position
};

/// One chunk's state: structure of arrays x[d * count + i], widened to double; hit steps.
struct WalkerState {
    std::vector<double> x, v;
    std::vector<std::uint64_t> hit; ///< empty when the model has no target
};

/// Settings a user may tune without changing any result.
struct BackendOptions {
    int threads = 0;    ///< CPU: OpenMP threads (0: all)
    int block_size = 0; ///< CUDA: threads per block of the stepping kernel (0: default)
    int device = 0;     ///< CUDA device ordinal
};

class Backend {
public:
    virtual ~Backend() = default;
    virtual std::string name() const = 0;
    virtual std::string device() const = 0;
    /// Most walkers one chunk of this model may hold (memory bound).
    virtual std::uint64_t max_chunk_walkers(const Model &model) const = 0;

    /// Allocates walkers [first_walker, first_walker + count) and draws their initial state.
    virtual void initialize(const Model &model, const InitSpec &init, std::uint64_t first_walker,
                            std::uint64_t count) = 0;
    /// Advances every walker of the chunk by n_steps from first_step; kT holds T_n for each of
    /// those steps, or one value for all of them.
    virtual void advance(const Model &model, std::uint64_t first_step, std::uint64_t n_steps,
                         const std::vector<double> &kT) = 0;
    /// Histograms, basin counts, block partial sums and the best walker of the chunk.
    virtual Observation observe(const Model &model, const ObserveSpec &spec) const = 0;
    /// Advances like advance() and observes the chunk after each step count in `at` (increasing,
    /// each in [1, n_steps]): observation k is bitwise what advance() to first_step + at[k]
    /// followed by observe() gives. This default does exactly that; CUDA queues the whole call
    /// at once and observes each sample on a second stream while the next steps run.
    virtual std::vector<Observation>
    advance_and_observe(const Model &model, std::uint64_t first_step, std::uint64_t n_steps,
                        const std::vector<double> &kT, const ObserveSpec &spec,
                        const std::vector<std::uint64_t> &at);

    /// Copies the chunk's state out.
    virtual void save(WalkerState &state) const = 0;
    /// Replaces the chunk's state (count = x.size() / dim).
    virtual void load(const Model &model, std::uint64_t first_walker, const WalkerState &state) = 0;
};

/// Checks advance_and_observe's arguments: kT has one entry or n_steps, `at` increases within
/// [1, n_steps]. Throws otherwise.
void check_sample_offsets(std::uint64_t n_steps, const std::vector<double> &kT,
                          const std::vector<std::uint64_t> &at);

/// Whether a backend can run here (CUDA: a device is present).
bool backend_available(const std::string &name, std::string *why = nullptr);
/// "auto" picks cuda when available, else cpu. Throws with the reason when unavailable.
std::unique_ptr<Backend> make_backend(const std::string &name, const BackendOptions &options = {});

std::unique_ptr<Backend> make_cpu_backend(const BackendOptions &options);
#if defined(LGV_HAVE_CUDA)
std::unique_ptr<Backend> make_cuda_backend(const BackendOptions &options);
/// Number of CUDA devices (0 when the driver or a device is missing); *why says why.
int cuda_device_count(std::string *why);
/// One line per CUDA device: name, memory, compute capability.
std::vector<std::string> cuda_device_descriptions();
#endif

} // namespace langevin
