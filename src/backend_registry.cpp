// Which backends this build has, choosing one, and what every backend shares.
#include "langevin/backend.hpp"

namespace langevin {

bool backend_available(const std::string &name, std::string *why) {
    if (name == "cpu")
        return true;
    if (name == "cuda") {
#if defined(LGV_HAVE_CUDA)
        std::string reason;
        const bool ok = cuda_device_count(&reason) > 0;
        if (why)
            *why = reason;
        return ok;
#else
        if (why)
            *why = "this build has no CUDA backend (configure with -DLANGEVIN_ENABLE_CUDA=ON where "
                   "nvcc is installed)";
        return false;
#endif
    }
    if (why)
        *why = "unknown backend";
    return false;
}

std::unique_ptr<Backend> make_backend(const std::string &name, const BackendOptions &options) {
    if (name == "auto")
        return make_backend(backend_available("cuda") ? "cuda" : "cpu", options);
    LGV_REQUIRE(name == "cpu" || name == "cuda", "backend = \"", name,
                "\": allowed values are \"auto\", \"cpu\", \"cuda\"");
    std::string why;
    LGV_REQUIRE(backend_available(name, &why), "backend \"", name, "\" is not available: ", why);
#if defined(LGV_HAVE_CUDA)
    if (name == "cuda")
        return make_cuda_backend(options);
#endif
    return make_cpu_backend(options);
}

void check_sample_offsets(std::uint64_t n_steps, const std::vector<double> &kT,
                          const std::vector<std::uint64_t> &at) {
    LGV_REQUIRE(kT.size() == 1 || kT.size() == n_steps, "internal: ", kT.size(),
                " temperatures for ", n_steps, " steps (want 1 or one per step)");
    for (std::size_t k = 0; k < at.size(); ++k)
        LGV_REQUIRE(at[k] >= 1 && at[k] <= n_steps && (k == 0 || at[k] > at[k - 1]),
                    "internal: sample offset ", at[k], " (#", k, ") of a ", n_steps,
                    "-step call: offsets must increase within [1, ", n_steps, "]");
}

namespace {
/// kT's entries for steps [offset, offset + count) of a call (all of it when it has one entry).
std::vector<double> schedule_slice(const std::vector<double> &kT, std::uint64_t offset,
                                   std::uint64_t count) {
    if (kT.size() == 1)
        return kT;
    return {kT.begin() + std::ptrdiff_t(offset), kT.begin() + std::ptrdiff_t(offset + count)};
}
} // namespace

std::vector<Observation> Backend::advance_and_observe(const Model &model, std::uint64_t first_step,
                                                      std::uint64_t n_steps,
                                                      const std::vector<double> &kT,
                                                      const ObserveSpec &spec,
                                                      const std::vector<std::uint64_t> &at) {
    check_sample_offsets(n_steps, kT, at);
    std::vector<Observation> out;
    out.reserve(at.size());
    std::uint64_t done = 0;
    for (const std::uint64_t offset : at) {
        advance(model, first_step + done, offset - done, schedule_slice(kT, done, offset - done));
        done = offset;
        out.push_back(observe(model, spec));
    }
    if (done < n_steps)
        advance(model, first_step + done, n_steps - done, schedule_slice(kT, done, n_steps - done));
    return out;
}

} // namespace langevin
