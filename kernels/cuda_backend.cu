// CUDA backend: owns one chunk's device storage; the kernels live in the per-precision units.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <memory>
#include <vector>

#include "cuda_launch.cuh"
#include "langevin/observe.hpp"

namespace langevin {

std::atomic<std::uint64_t> cuda::queued_sample_count{0};

namespace {

/// Streams and events that destroy themselves (errors ignored: nothing can be done then).
struct StreamDestroyer {
    void operator()(cudaStream_t s) const { cudaStreamDestroy(s); }
};
struct EventDestroyer {
    void operator()(cudaEvent_t e) const { cudaEventDestroy(e); }
};
using Stream = std::unique_ptr<CUstream_st, StreamDestroyer>;
using Event = std::unique_ptr<CUevent_st, EventDestroyer>;

class CudaBackend final : public Backend {
public:
    explicit CudaBackend(const BackendOptions &options) : options_(options) {
        int count = 0;
        LGV_CUDA_CHECK(cudaGetDeviceCount(&count));
        LGV_REQUIRE(options.device >= 0 && options.device < count,
                    "[backend] device = ", options.device, ": this machine has ", count,
                    " CUDA device(s)");
        LGV_CUDA_CHECK(cudaSetDevice(options.device));
        LGV_CUDA_CHECK(cudaGetDeviceProperties(&props_, options.device));
    }
    CudaBackend(const CudaBackend &) = delete;
    CudaBackend &operator=(const CudaBackend &) = delete;

    std::string name() const override { return "cuda"; }
    std::string device() const override {
        return detail::concat(props_.name, ", ", props_.totalGlobalMem >> 20, " MiB, sm_",
                              props_.major, props_.minor);
    }
    std::uint64_t max_chunk_walkers(const Model &model) const override {
        std::size_t free_bytes = 0, total = 0;
        LGV_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
        // x, v and hit steps, twice: advance_and_observe steps into a second copy while the
        // first is observed (overdamped walkers share one copy of v).
        const double value = model.precision == Precision::float32 ? 4 : 8;
        const double per_walker = (model.underdamped() ? 4.0 : 3.0) * model.dim() * value +
                                  (model.target.active() ? 2.0 * 8 : 0.0);
        const auto fit = static_cast<std::uint64_t>(0.6 * double(free_bytes) / per_walker);
        // CUB takes int sample counts; chunks of 2^31 - 4096 walkers gave wrong non-finite counts
        // on an H200 (int overflow in tile arithmetic suspected), so stay at 2^30.
        return std::min<std::uint64_t>(fit, std::uint64_t(1) << 30);
    }

    void initialize(const Model &model, const InitSpec &init, std::uint64_t first_walker,
                    std::uint64_t count) override {
        resize(model, first_walker, count);
        if (precision_ == Precision::float32)
            cuda::launch_initialize<float>(model, init, chunk_);
        else
            cuda::launch_initialize<double>(model, init, chunk_);
        LGV_CUDA_CHECK(cudaDeviceSynchronize());
    }

    void advance(const Model &model, std::uint64_t first_step, std::uint64_t n_steps,
                 const std::vector<double> &kT) override {
        if (n_steps == 0 || chunk_.count == 0)
            return;
        const std::vector<cuda::StepSegment> in_place{{0, n_steps, chunk_, chunk_, 0, nullptr}};
        if (precision_ == Precision::float32)
            cuda::launch_advance<float>(model, in_place, first_step, n_steps, kT,
                                        options_.block_size, workspace_);
        else
            cuda::launch_advance<double>(model, in_place, first_step, n_steps, kT,
                                         options_.block_size, workspace_);
        LGV_CUDA_CHECK(cudaDeviceSynchronize());
    }

    std::vector<Observation> advance_and_observe(const Model &model, std::uint64_t first_step,
                                                 std::uint64_t n_steps,
                                                 const std::vector<double> &kT,
                                                 const ObserveSpec &spec,
                                                 const std::vector<std::uint64_t> &at) override {
        check_sample_offsets(n_steps, kT, at);
        if (chunk_.count == 0 || at.empty())
            return Backend::advance_and_observe(model, first_step, n_steps, kT, spec, at);
        // Without the memory for the second half of the double buffer and the scratch (a chunk
        // size set by hand), the samples are taken in turn instead.
        const std::size_t words = precision_ == Precision::float32
                                      ? cuda::observe_result_words<float>(model, spec, chunk_)
                                      : cuda::observe_result_words<double>(model, spec, chunk_);
        const std::size_t batch =
            std::max<std::size_t>(1, kResultBytes / (sizeof(unsigned long long) * words));
        if (!reserve_pipeline(words * std::min(batch, at.size())))
            return Backend::advance_and_observe(model, first_step, n_steps, kT, spec, at);
        if (precision_ == Precision::float32)
            return pipelined<float>(model, first_step, n_steps, kT, spec, at, words, batch);
        return pipelined<double>(model, first_step, n_steps, kT, spec, at, words, batch);
    }

    Observation observe(const Model &model, const ObserveSpec &spec) const override {
        Observation out;
        if (precision_ == Precision::float32)
            cuda::launch_observe<float>(model, spec, chunk_, workspace_, out);
        else
            cuda::launch_observe<double>(model, spec, chunk_, workspace_, out);
        return out;
    }

    void save(WalkerState &state) const override {
        const std::size_t size = std::size_t(chunk_.count) * dim_;
        if (precision_ == Precision::float32) {
            std::vector<float> xf(size), vf(size);
            LGV_CUDA_CHECK(cudaMemcpy(xf.data(), chunk_.x, size * 4, cudaMemcpyDeviceToHost));
            LGV_CUDA_CHECK(cudaMemcpy(vf.data(), chunk_.v, size * 4, cudaMemcpyDeviceToHost));
            state.x.assign(xf.begin(), xf.end());
            state.v.assign(vf.begin(), vf.end());
        } else {
            state.x.resize(size);
            state.v.resize(size);
            LGV_CUDA_CHECK(cudaMemcpy(state.x.data(), chunk_.x, size * 8, cudaMemcpyDeviceToHost));
            LGV_CUDA_CHECK(cudaMemcpy(state.v.data(), chunk_.v, size * 8, cudaMemcpyDeviceToHost));
        }
        state.hit.assign(chunk_.hit ? chunk_.count : 0, 0);
        if (chunk_.hit)
            LGV_CUDA_CHECK(
                cudaMemcpy(state.hit.data(), chunk_.hit, chunk_.count * 8, cudaMemcpyDeviceToHost));
    }
    void load(const Model &model, std::uint64_t first_walker, const WalkerState &state) override {
        const int dim = model.dim();
        LGV_REQUIRE(state.x.size() % dim == 0 && state.v.size() == state.x.size(),
                    "load: state arrays do not match dimension ", dim);
        resize(model, first_walker, state.x.size() / dim);
        LGV_REQUIRE(state.hit.size() == (chunk_.hit ? chunk_.count : 0),
                    "load: hit steps do not match the walkers");
        if (precision_ == Precision::float32) {
            std::vector<float> xf(state.x.begin(), state.x.end()),
                vf(state.v.begin(), state.v.end());
            LGV_CUDA_CHECK(cudaMemcpy(chunk_.x, xf.data(), xf.size() * 4, cudaMemcpyHostToDevice));
            LGV_CUDA_CHECK(cudaMemcpy(chunk_.v, vf.data(), vf.size() * 4, cudaMemcpyHostToDevice));
        } else {
            LGV_CUDA_CHECK(
                cudaMemcpy(chunk_.x, state.x.data(), state.x.size() * 8, cudaMemcpyHostToDevice));
            LGV_CUDA_CHECK(
                cudaMemcpy(chunk_.v, state.v.data(), state.v.size() * 8, cudaMemcpyHostToDevice));
        }
        if (chunk_.hit)
            LGV_CUDA_CHECK(cudaMemcpy(chunk_.hit, state.hit.data(), state.hit.size() * 8,
                                      cudaMemcpyHostToDevice));
    }

private:
    /// Largest device area for the raw totals of one batch of queued observations.
    static constexpr std::size_t kResultBytes = std::size_t(64) << 20;

    void resize(const Model &model, std::uint64_t first_walker, std::uint64_t count) {
        precision_ = model.precision;
        dim_ = model.dim();
        has_hits_ = model.target.active();
        moving_ = model.underdamped();
        if (!moving_)
            v_[1].release(); // an earlier underdamped chunk's: both halves now share v_[0]
        chunk_.first = first_walker;
        chunk_.count = count;
        if (!reserve_half(current_)) {
            chunk_ = cuda::DeviceChunk{}; // no walkers: not the buffers a failed reserve freed
            throw Error(detail::concat("out of device memory for ", count,
                                       " walkers (a smaller [ensemble] chunk needs less)"));
        }
        chunk_ = half(current_);
    }

    std::size_t value_bytes() const { return precision_ == Precision::float32 ? 4 : 8; }

    /// The velocities of buffer set h: overdamped stepping never changes them (integrator.hpp),
    /// so both sets share one copy.
    int velocities_of(int h) const { return moving_ ? h : 0; }

    /// Reserves buffer set h for the chunk's walkers; false when the device has no memory.
    bool reserve_half(int h) {
        const std::size_t bytes = std::size_t(chunk_.count) * dim_ * value_bytes();
        return x_[h].try_reserve(bytes) && v_[velocities_of(h)].try_reserve(bytes) &&
               (!has_hits_ || hit_[h].try_reserve(chunk_.count * sizeof(std::uint64_t)));
    }

    /// The chunk's walkers in buffer set h.
    cuda::DeviceChunk half(int h) const {
        cuda::DeviceChunk c = chunk_;
        c.x = x_[h].get();
        c.v = v_[velocities_of(h)].get();
        c.hit = has_hits_ ? static_cast<std::uint64_t *>(hit_[h].get()) : nullptr;
        return c;
    }

    /// Reserves what pipelined() needs: the half of the double buffer that does not hold the
    /// chunk, the observation scratch and `result_words` of results. False (the half freed again)
    /// when the device has no memory for them.
    bool reserve_pipeline(std::size_t result_words) {
        const int h = 1 - current_;
        const std::uint64_t n_blocks = (chunk_.count + kMomentBlock - 1) / kMomentBlock;
        const bool ok =
            reserve_half(h) &&
            // Grown here, not between queued launches (a reallocation synchronises the device).
            workspace_.block_sums.try_reserve(sizeof(double) * moment_width(dim_) * n_blocks) &&
            workspace_.best.try_reserve(sizeof(Best) * n_blocks) &&
            workspace_.results.try_reserve(sizeof(unsigned long long) * result_words);
        if (!ok) // not the velocities the chunk's half shares
            for (cuda::DeviceBuffer *b : {&x_[h], moving_ ? &v_[h] : nullptr, &hit_[h]})
                if (b)
                    b->release();
        return ok;
    }

    /// The observer stream (highest priority, so that its blocks take SMs as stepping blocks
    /// retire), the stepping streams of slices 1, 2, ... (slice 0 steps on the default stream)
    /// and the events that order them.
    void ensure_streams(unsigned slices) {
        auto stream = [](int priority) {
            cudaStream_t s = nullptr;
            LGV_CUDA_CHECK(cudaStreamCreateWithPriority(&s, cudaStreamNonBlocking, priority));
            return Stream(s);
        };
        auto event = [] {
            cudaEvent_t e = nullptr;
            LGV_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
            return Event(e);
        };
        // Each set is kept only once all of it exists: a failed creation leaves the lists whole.
        slice_streams_.reserve(slices);
        stepped_.reserve(slices);
        if (!observer_) {
            int least = 0, greatest = 0;
            LGV_CUDA_CHECK(cudaDeviceGetStreamPriorityRange(&least, &greatest));
            Stream observer = stream(greatest);
            Event done0 = event(), done1 = event(), stepped0 = event();
            observer_ = std::move(observer);
            read_done_[0] = std::move(done0);
            read_done_[1] = std::move(done1);
            slice_streams_.emplace_back(); // slice 0 steps on the default stream
            stepped_.push_back(std::move(stepped0));
        }
        while (slice_streams_.size() < slices) {
            Stream s = stream(0);
            Event e = event();
            slice_streams_.push_back(std::move(s));
            stepped_.push_back(std::move(e));
        }
    }

    /// Launches per segment in advance_and_observe: the chunk steps as this many slices of
    /// walkers, each on its own stream, so that the blocks of one slice's next segment fill the
    /// SMs that the tail of another's leaves idle (one launch leaves them idle for about one
    /// wave of blocks at every sample). Two where each slice fills the card at least once (the
    /// slices of a smaller chunk run side by side anyway) and samples are on average at least 32
    /// steps apart (closer ones are bound by the launches and the observations), else one.
    /// LANGEVIN_STEP_SLICES=k (1-8) fixes it; the slicing never changes a result.
    unsigned step_slices(int threads, std::uint64_t n_steps, std::size_t samples) const {
        const int k = tuning_knob("LANGEVIN_STEP_SLICES", 1, 8,
                                  "the slices of walkers that step on their own streams while "
                                  "samples are taken, an integer from 1 to 8");
        if (k > 0)
            return unsigned(std::min<std::uint64_t>(k, (chunk_.count + threads - 1) / threads));
        const std::uint64_t wave =
            std::uint64_t(props_.multiProcessorCount) * props_.maxThreadsPerMultiProcessor;
        return chunk_.count >= 2 * wave && n_steps >= 32 * samples ? 2 : 1;
    }

    /// CUDA blocks of an observation that runs while `next_steps` more steps do: it has their
    /// time to finish before the steps after them need its half of the buffer. One observation
    /// of 2^24 1-D walkers took 0.24 ms on a whole H100, ~9 steps' worth; on one block per SM
    /// (a quarter of its full occupancy, the rest left to stepping) it should take ~4x that, so
    /// one block per SM from 64 steps on, two from 32, else the whole card (0), where the
    /// observation sets the pace anyway. Estimates, to be tuned on the card:
    /// LANGEVIN_OBSERVER_BLOCKS=k (per_sm_override) fixes k blocks per SM (0: the whole card).
    /// The grid never changes a result.
    unsigned observer_blocks(std::uint64_t next_steps, int per_sm_override) const {
        const unsigned sms = unsigned(props_.multiProcessorCount);
        if (per_sm_override >= 0)
            return unsigned(per_sm_override) * sms;
        return next_steps >= 64 ? sms : next_steps >= 32 ? 2 * sms : 0;
    }

    /// LANGEVIN_OBSERVER_BLOCKS as blocks per SM, or -1 when unset.
    static int observer_blocks_override() {
        return tuning_knob("LANGEVIN_OBSERVER_BLOCKS", 0, 32,
                           "the CUDA blocks per SM of an observation that runs beside stepping, "
                           "an integer from 0 (the whole card) to 32");
    }

    /// The integer in environment variable `name`, from lo to hi, or -1 when it is unset; any
    /// other value is refused with what it should be (`want`).
    static int tuning_knob(const char *name, int lo, int hi, const char *want) {
        const char *env = std::getenv(name);
        if (!env)
            return -1;
        char *end = nullptr;
        const long value = std::strtol(env, &end, 10);
        // Digits only: strtol alone would also take " 2" and "+2".
        LGV_REQUIRE(*env >= '0' && *env <= '9' && *end == '\0' && value >= lo && value <= hi, name,
                    " = \"", env, "\": want ", want);
        return int(value);
    }

    /// advance_and_observe on the device: the steps run from one half of a double buffer into
    /// the other, each segment as step_slices() launches on their own streams; after each
    /// sample's segment the observer stream observes the half just written (once every slice
    /// is done) while the next segment steps into the other one. A slice waits only for its own
    /// previous segment and for the observation that read the half it overwrites. Nothing
    /// returns to the host until a batch of samples (all of them, unless their totals exceed
    /// kResultBytes) is done.
    template <class T>
    std::vector<Observation>
    pipelined(const Model &model, std::uint64_t first_step, std::uint64_t n_steps,
              const std::vector<double> &kT, const ObserveSpec &spec,
              const std::vector<std::uint64_t> &at, std::size_t words, std::size_t batch) {
        const int per_sm_override = observer_blocks_override();
        const int threads = options_.block_size > 0 ? options_.block_size : 256;
        const unsigned slices = step_slices(threads, n_steps, at.size());
        ensure_streams(slices);
        // Slice s holds walkers [bounds[s], bounds[s + 1]): whole blocks of threads, nearly equal.
        std::vector<std::uint64_t> bounds(slices + 1, chunk_.count);
        for (unsigned k = 0; k < slices; ++k)
            bounds[k] = std::min(chunk_.count,
                                 (chunk_.count * k / slices + threads - 1) / threads * threads);
        auto *results = static_cast<unsigned long long *>(workspace_.results.get());
        std::vector<unsigned long long> host;
        std::vector<Observation> out(at.size());
        std::uint64_t done = 0;
        for (std::size_t b0 = 0; b0 < at.size(); b0 += batch) {
            const std::size_t b1 = std::min(at.size(), b0 + batch);
            const std::uint64_t end = b1 == at.size() ? n_steps : at[b1 - 1];
            // Launch k: segment k / slices of the batch, slice k % slices.
            std::vector<cuda::StepSegment> launches;
            std::vector<int> sample_of; // the batch's sample after each segment, or -1
            for (std::size_t k = b0; k <= b1; ++k) {
                const std::uint64_t stop = k < b1 ? at[k] : end;
                if (stop == done)
                    continue;
                const int h = current_ ^ int(sample_of.size() % 2);
                for (unsigned s = 0; s < slices; ++s)
                    launches.push_back(
                        {done, stop - done,
                         cuda::slice(half(h), bounds[s], bounds[s + 1], value_bytes()),
                         cuda::slice(half(1 - h), bounds[s], bounds[s + 1], value_bytes()),
                         chunk_.count, slice_streams_[s].get()});
                sample_of.push_back(k < b1 ? int(k - b0) : -1);
                done = stop;
            }
            bool being_read[2] = {false, false};
            auto after_segment = [&](std::size_t j) { // every slice of segment j is queued
                const int written = current_ ^ int((j + 1) % 2);
                if (sample_of[j] >= 0) {
                    const std::size_t sample = b0 + std::size_t(sample_of[j]);
                    const std::uint64_t next =
                        (sample + 1 < at.size() ? at[sample + 1] : n_steps) - at[sample];
                    for (unsigned s = 0; s < slices; ++s) {
                        LGV_CUDA_CHECK(cudaEventRecord(stepped_[s].get(), slice_streams_[s].get()));
                        LGV_CUDA_CHECK(cudaStreamWaitEvent(observer_.get(), stepped_[s].get(), 0));
                    }
                    cuda::enqueue_observe<T>(model, spec, half(written), workspace_,
                                             results + std::size_t(sample_of[j]) * words,
                                             observer_.get(),
                                             observer_blocks(next, per_sm_override));
                    LGV_CUDA_CHECK(cudaEventRecord(read_done_[written].get(), observer_.get()));
                    being_read[written] = true;
                }
                // The next segment overwrites the other half: wait for its observation, if any.
                if (being_read[1 - written]) {
                    for (unsigned s = 0; s < slices; ++s)
                        LGV_CUDA_CHECK(cudaStreamWaitEvent(slice_streams_[s].get(),
                                                           read_done_[1 - written].get(), 0));
                    being_read[1 - written] = false;
                }
            };
            std::size_t launched = 0; // launches queued, so that an error leaves chunk_ right
            try {
                cuda::launch_advance<T>(model, launches, first_step, n_steps, kT,
                                        options_.block_size, workspace_, [&](std::size_t k) {
                                            launched = k + 1;
                                            if (launched % slices == 0)
                                                after_segment(k / slices);
                                        });
            } catch (...) {
                // Its error, if any, is the one being reported: cleared, not reported twice.
                cudaDeviceSynchronize();
                cudaGetLastError();
                // The half of the last segment whose every slice was queued (a partly queued
                // segment only wrote into the other half).
                current_ ^= int(launched / slices % 2);
                chunk_ = half(current_);
                throw;
            }
            current_ ^= int(sample_of.size() % 2);
            chunk_ = half(current_);
            host.resize(words * (b1 - b0));
            LGV_CUDA_CHECK(cudaMemcpyAsync(host.data(), results,
                                           sizeof(unsigned long long) * host.size(),
                                           cudaMemcpyDeviceToHost, observer_.get()));
            LGV_CUDA_CHECK(cudaStreamSynchronize(observer_.get()));
            LGV_CUDA_CHECK(cudaDeviceSynchronize());
            for (std::size_t k = b0; k < b1; ++k)
                cuda::unpack_observation<T>(model, spec, chunk_, host.data() + (k - b0) * words,
                                            out[k]);
        }
        cuda::queued_sample_count += at.size();
        return out;
    }

    BackendOptions options_;
    cudaDeviceProp props_{};
    Precision precision_ = Precision::float32;
    int dim_ = 1;
    bool has_hits_ = false;
    bool moving_ = true;                      ///< underdamped: v changes as walkers step
    cuda::DeviceBuffer x_[2], v_[2], hit_[2]; ///< a double buffer: set current_ holds the chunk
    int current_ = 0;
    cuda::DeviceChunk chunk_;
    mutable cuda::Workspace workspace_;
    Stream observer_;
    std::vector<Stream> slice_streams_; ///< slice s steps on slice_streams_[s] (0: default)
    std::vector<Event> stepped_;        ///< slice s's segment is done
    Event read_done_[2];
};

} // namespace

int cuda_device_count(std::string *why) {
    int count = 0;
    const cudaError_t status = cudaGetDeviceCount(&count);
    if (status != cudaSuccess) {
        if (why)
            *why = detail::concat("no usable CUDA device (", cudaGetErrorName(status), ": ",
                                  cudaGetErrorString(status), ")");
        cudaGetLastError(); // clear the error state
        return 0;
    }
    if (count == 0 && why)
        *why = "no CUDA device found";
    return count;
}

std::vector<std::string> cuda_device_descriptions() {
    std::vector<std::string> out;
    const int count = cuda_device_count(nullptr);
    for (int i = 0; i < count; ++i) {
        cudaDeviceProp p{};
        if (cudaGetDeviceProperties(&p, i) == cudaSuccess)
            out.push_back(detail::concat("device ", i, ": ", p.name, ", ", p.totalGlobalMem >> 20,
                                         " MiB, sm_", p.major, p.minor, ", ", p.multiProcessorCount,
                                         " SMs"));
    }
    return out;
}

std::unique_ptr<Backend> make_cuda_backend(const BackendOptions &options) {
    return std::make_unique<CudaBackend>(options);
}

} // namespace langevin
