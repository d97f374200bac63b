// Errors: every failure throws one of these with what went wrong, where, and what is allowed.
#pragma once

#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace langevin {

/// Any user-facing failure: bad input, unsupported combination, I/O.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// A run or a long computation stopped because its caller asked (SIGINT, SIGTERM): run_study
/// throws it after checkpointing, BoltzmannReferences when its hook says stop.
class Interrupted : public Error {
public:
    using Error::Error;
};

/// A CUDA runtime or CUB call failed.
class CudaError : public Error {
public:
    using Error::Error;
};

namespace detail {
/// A number as a person typed it: 15 significant digits at most, so 0.99 reads 0.99 (not
/// 0.98999999999999999) and a computed 0.1 * 3 reads 0.3; floats keep their 7 digits.
inline std::string number_text(double v, int digits = 15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.*g", digits, v);
    return buf;
}

template <class T> void put(std::ostream &out, const T &arg) {
    if constexpr (std::is_same_v<T, double>)
        out << number_text(arg);
    else if constexpr (std::is_same_v<T, float>)
        out << number_text(arg, 7);
    else
        out << arg;
}

template <class... Args> std::string concat(const Args &...args) {
    std::ostringstream out;
    (put(out, args), ...);
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
