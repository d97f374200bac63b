// Which backends this build has, and choosing one.
#include "langevin/backend.hpp"

namespace langevin {

std::vector<std::string> compiled_backends() {
#if defined(LGV_HAVE_CUDA)
    return {"cuda", "cpu"};
#else
    return {"cpu"};
#endif
}

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

} // namespace langevin
