// What every potential shares: parameter descriptions, ranges, and the contract it fulfils.
//
// A potential is a plain struct with
//   name, fixed_dim (0: any dimension in the compiled list), separable, product_basins,
//   dim, its parameters,
//   energy<T, D>(x), force<T, D>(x) = -grad E (analytic),
//   coord_energy<T>(d, x) for separable ones (E = sum_d coord_energy(d, x_d)),
//   basin_count(), basin_name(i), basin<T, D>(x) (index, or -1 when it has no basins),
//   global_basin() (the basin of the global minimum, -1 without basins),
//   coord_basin<T>(d, x) for product_basins ones (basin of the product = global iff every
//   coordinate is in its global cell),
//   optionally same_coordinates = true where coord_energy, coord_basin and default_range do
//   not depend on d (references then compute one coordinate's and reuse it),
//   optionally convex = true where E is convex (logistic_regression): a 2-D study's energy
//   moments then leave out, unevaluated, the parts of the plane its tangent planes show to lie
//   far above the minimum,
//   optionally descends = true with descent_end(p, steps) and descent_step(p), p a
//   Vec<double, D>, where basin() is a descent (Muller-Brown): the CPU backend runs many
//   walkers' descents side by side with them,
//   params(), make(values, dim), default_range(d).
#pragma once

#include <map>
#include <string>
#include <type_traits>
#include <vector>

#include "langevin/core.hpp"
#include "langevin/error.hpp"
#include "langevin/vec.hpp"

#if defined(LGV_HAVE_COMPILED_DIMS)
#include "langevin/compiled_dims.hpp"
#endif
#ifndef LGV_MAX_DIM
#define LGV_MAX_DIM 64
#endif

namespace langevin {

/// Largest dimension any D-generic potential is compiled for (sizes per-dimension arrays).
constexpr int kMaxDim = LGV_MAX_DIM;

/// One named parameter of a potential, with its default and meaning.
struct ParamSpec {
    const char *name;
    double default_value;
    bool per_dim; ///< a scalar (broadcast) or one value per dimension
    const char *doc;
};

/// Parameter values by name: one value, or one per dimension.
using ParamValues = std::map<std::string, std::vector<double>>;

/// A closed interval [lo, hi].
struct Range {
    double lo, hi;
};

/// E = sum_d coord_energy(d, x_d): the energy of a separable potential.
template <class Pot, class T, int D>
LGV_HD LGV_INLINE T separable_energy(const Pot &pot, const Vec<T, D> &x) {
    T e = T(0);
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        e += pot.coord_energy(d, x[d]);
    return e;
}

/// Product basins: 0 (global) when every coordinate is in its global cell, else 1.
template <class Pot, class T, int D>
LGV_HD LGV_INLINE int product_basin(const Pot &pot, const Vec<T, D> &x) {
    int b = 0;
    LGV_UNROLL
    for (int d = 0; d < D; ++d)
        b |= pot.coord_basin(d, x[d]);
    return b;
}

/// Separable potentials whose coordinates are all alike (same_coordinates).
template <class Pot, class = void> constexpr bool kSameCoordinates = false;
template <class Pot>
constexpr bool kSameCoordinates<Pot, std::enable_if_t<Pot::same_coordinates>> = true;

/// Potentials whose energy is convex (convex): E(p) >= E(c) - force(c).(p - c).
template <class Pot, class = void> constexpr bool kConvex = false;
template <class Pot> constexpr bool kConvex<Pot, std::enable_if_t<Pot::convex>> = true;

/// Potentials whose basin() is a descent in parts (descends: descent_end, descent_step).
template <class Pot, class = void> constexpr bool kDescends = false;
template <class Pot> constexpr bool kDescends<Pot, std::enable_if_t<Pot::descends>> = true;

namespace detail {
inline double scalar_param(const ParamValues &values, const char *name) {
    const auto it = values.find(name);
    LGV_REQUIRE(it != values.end() && it->second.size() == 1, "[potential] ", name,
                " must be one number");
    return it->second[0];
}
inline void require_positive(const char *name, double value) {
    LGV_REQUIRE(value > 0 && std::isfinite(value), "[potential] ", name, " = ", value,
                ": must be a finite number > 0");
}
inline void require_finite(const char *name, double value) {
    LGV_REQUIRE(std::isfinite(value), "[potential] ", name, " = ", value, ": must be finite");
}
/// Fills out[0..dim) from a scalar (broadcast) or a list of exactly dim values.
inline void per_dim_param(const ParamValues &values, const char *name, int dim, double *out) {
    const auto it = values.find(name);
    LGV_REQUIRE(it != values.end(), "[potential] ", name, " is missing");
    const auto &v = it->second;
    LGV_REQUIRE(v.size() == 1 || static_cast<int>(v.size()) == dim, "[potential] ", name, " has ",
                v.size(), " values: give one number or a list of ", dim, " ([potential] dim)");
    for (int d = 0; d < dim; ++d) {
        out[d] = v.size() == 1 ? v[0] : v[d];
        require_finite(name, out[d]);
    }
}
} // namespace detail

} // namespace langevin
