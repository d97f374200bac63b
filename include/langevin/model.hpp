// A model is what a walker's trajectory depends on besides its id and initial state: potential,
// integrator, precision, seed. This header also turns the run-time choices into compile-time
// types (std::visit over the registries, the dimension into an integral constant): the hot loop
// never dispatches.
#pragma once

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <variant>

#include "langevin/data.hpp"
#include "langevin/first_passage.hpp"
#include "langevin/integrators.hpp"
#include "langevin/potentials.hpp"

#ifndef LGV_DIMS
#define LGV_DIMS 1, 2, 3, 4, 8
#endif

namespace langevin {

struct Model {
    Potential potential;
    Integrator integrator;
    Precision precision = Precision::float32;
    std::uint64_t seed = 0;
    Target target;                       ///< first-passage region (inactive by default)
    std::shared_ptr<const Dataset> data; ///< a data-defined loss's data (its view points here)

    int dim() const {
        return std::visit([](const auto &p) { return p.dim; }, potential);
    }
    bool underdamped() const {
        return std::visit([](const auto &i) { return i.underdamped; }, integrator);
    }
};

template <int... Ds> struct DimList {};
/// Dimensions the D-generic potentials are compiled for (CMake option LANGEVIN_DIMS).
using CompiledDims = DimList<LGV_DIMS>;

template <int... Ds> constexpr bool dim_compiled(int dim, DimList<Ds...>) {
    return ((dim == Ds) || ...);
}
template <int... Ds> std::string dim_list_text(DimList<Ds...>) {
    std::string out;
    ((out += (out.empty() ? "" : ", ") + std::to_string(Ds)), ...);
    return out;
}

template <class F, int... Ds> bool dispatch_dim(int dim, F &f, DimList<Ds...>) {
    return ((dim == Ds ? (f(std::integral_constant<int, Ds>{}), true) : false) || ...);
}

/// Calls f(std::integral_constant<int, D>) for the potential's dimension.
template <class Pot, class F> void with_dim(const Pot &pot, F &&f) {
    if constexpr (Pot::fixed_dim > 0) {
        f(std::integral_constant<int, Pot::fixed_dim>{});
    } else {
        const bool found = dispatch_dim(pot.dim, f, CompiledDims{});
        LGV_REQUIRE(found, "[potential] dim = ", pot.dim,
                    " is not compiled in; compiled: ", dim_list_text(CompiledDims{}),
                    " (rebuild with -DLANGEVIN_DIMS=\"...;", pot.dim, "\")");
    }
}

namespace detail {
template <class Variant, class F, std::size_t... I>
void for_each_alternative(F &f, std::index_sequence<I...>) {
    (f(std::variant_alternative_t<I, Variant>{}), ...);
}
} // namespace detail

/// Calls f(Alternative{}) for every alternative of a registry variant, in order.
template <class Variant, class F> void for_each_alternative(F &&f) {
    detail::for_each_alternative<Variant>(f,
                                          std::make_index_sequence<std::variant_size_v<Variant>>{});
}

/// Calls f(T{}) with T = float or double.
template <class F> void with_precision(Precision p, F &&f) {
    if (p == Precision::float32)
        f(float{});
    else
        f(double{});
}

/// Calls f(potential, integrator, T{}, integral_constant<D>) for a precision fixed at compile
/// time (lets a backend compile each precision in its own translation unit).
template <class T, class F> void visit_model_as(const Model &m, F &&f) {
    std::visit(
        [&](const auto &pot) {
            std::visit(
                [&](const auto &integ) { with_dim(pot, [&](auto D) { f(pot, integ, T{}, D); }); },
                m.integrator);
        },
        m.potential);
}

/// Calls f(potential, T{}, integral_constant<D>) for a compile-time precision: for work that does
/// not depend on the integrator (observables, initial conditions).
template <class T, class F> void visit_potential_as(const Model &m, F &&f) {
    std::visit([&](const auto &pot) { with_dim(pot, [&](auto D) { f(pot, T{}, D); }); },
               m.potential);
}

/// Calls f(potential, integrator, T{}, integral_constant<D>) with every choice resolved.
template <class F> void visit_model(const Model &m, F &&f) {
    with_precision(m.precision, [&](auto t) { visit_model_as<decltype(t)>(m, f); });
}

/// Calls f(potential, T{}, integral_constant<D>) with every choice resolved.
template <class F> void visit_potential(const Model &m, F &&f) {
    with_precision(m.precision, [&](auto t) { visit_potential_as<decltype(t)>(m, f); });
}

} // namespace langevin
