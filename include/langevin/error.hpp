// Errors: every failure throws one of these with what went wrong, where, and what is allowed.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace langevin {

/// Any user-facing failure: bad input, unsupported combination, I/O.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A CUDA runtime or CUB call failed.
class CudaError : public Error {
public:
    using Error::Error;
};

namespace detail {
template <class... Args> std::string concat(const Args &...args) {
    std::ostringstream out;
    (out << ... << args);
    return out.str();
}
} // namespace detail

} // namespace langevin

/// Host precondition: throws langevin::Error built from the remaining arguments.
#define LGV_REQUIRE(cond, ...)                                                                     \
    do {                                                                                           \
        if (!(cond))                                                                               \
            throw ::langevin::Error(::langevin::detail::concat(__VA_ARGS__));                      \
    } while (0)
