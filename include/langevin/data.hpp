// Data sets of the data-defined losses (SGD studies): the view kernels read, and the host side
// that owns, generates and loads them.
//
// A data-defined potential's energy is a mean loss L(w) = (1/n) sum_i l(w; x_i, y_i) over pairs
// (x_i, y_i) held once per process (host) and once per CUDA backend. Potentials carry a DataView
// (two pointers and n), so they stay plain structs that kernels take by value; the CPU backend
// reads the host arrays, the CUDA backend swaps in a device copy (uploaded once per data set,
// freed with the backend).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "langevin/core.hpp"

namespace langevin {

/// Pairs (x_i, y_i), i < n, and the id of the data set they belong to.
struct DataView {
    const double *x = nullptr, *y = nullptr;
    std::uint64_t n = 0;
    std::uint64_t id = 0; ///< unique per data set in a process (keys the device copy)
};

/// Whether a potential is a data-defined loss (has `static constexpr bool data_defined = true`).
template <class P, class = void> struct IsDataDefined : std::false_type {};
template <class P>
struct IsDataDefined<P, std::void_t<decltype(P::data_defined)>>
    : std::bool_constant<P::data_defined> {};
template <class P> constexpr bool is_data_defined = IsDataDefined<P>::value;

/// Whether a potential's Boltzmann law lives on its default range only (`static constexpr bool
/// confined = true`): a loss bounded as |w| -> infinity has no normalisable law on the line.
template <class P, class = void> struct IsConfined : std::false_type {};
template <class P>
struct IsConfined<P, std::void_t<decltype(P::confined)>> : std::bool_constant<P::confined> {};
template <class P> constexpr bool is_confined = IsConfined<P>::value;

/// A data set owned on the host.
struct Dataset {
    std::vector<double> x, y;
    std::string source; ///< "synthetic linear_regression n=1000 seed=7 ...", or the file path
    std::uint64_t id = 0;
    DataView view() const { return {x.data(), y.data(), std::uint64_t(x.size()), id}; }
};

/// Synthetic data of a model kind; every pair is a pure function of (seed, i) through its own
/// Philox stream (Purpose::data), so the same settings give the same data on any machine.
///   linear_regression   x ~ N(0, 1), y = w_true x + noise e
///   logistic_regression x ~ N(0, 1), y = +1 with probability sigmoid(w_true x + b_true), else -1
///   sine_fit            x ~ U(0, x_max), y = sin(w_true x) + noise e
struct SyntheticSpec {
    std::string model;
    std::uint64_t n = 1000, seed = 1;
    double w_true = 1.0, b_true = 0.0, noise = 0.5, x_max = 3.0;
};
std::shared_ptr<const Dataset> synthetic_dataset(const SyntheticSpec &spec);
/// The [data] defaults of a model kind: n = 1000, seed = 1; linear w_true = 1, noise = 0.5;
/// logistic w_true = 2, b_true = 0.5; sine w_true = 2, noise = 0.3, x_max = 3.
SyntheticSpec synthetic_defaults(const std::string &model);
/// The [data] keys that synthetic data of a model kind read: n, seed, w_true, and b_true
/// (logistic), noise (linear, sine) and x_max (sine).
std::vector<std::string> synthetic_keys(const std::string &model);

/// Pairs from a file: CSV (two numeric columns x, y; one header line allowed; '#' comments) or
/// HDF5 (datasets named x_name and y_name). Errors name the file, the line and what is wrong.
std::shared_ptr<const Dataset> load_dataset(const std::string &path,
                                            const std::string &x_name = "x",
                                            const std::string &y_name = "y");

/// FNV-1a (64 bits) over the bytes of x, then y: a file's pairs as a run used them, stored with
/// its results and checkpoints so that a resume or merge notices a file changed since.
std::uint64_t data_fingerprint(const Dataset &data);

/// The data a data-defined potential gets by default (its synthetic spec with defaults): lets
/// `make()` build a usable potential without a [data] section (info, generic tests).
std::shared_ptr<const Dataset> default_dataset(const std::string &model);

} // namespace langevin
