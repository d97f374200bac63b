// Temperature schedules T_n (host side): step n = 0, 1, 2, ... uses T_n. Backends receive a table
// of T_n for the steps they advance, so every backend and integrator sees the same values.
//   constant     T_n = T
//   linear       T_n = T0 + (T1 - T0) min(n / span, 1)
//   geometric    T_n = T0 (T1 / T0)^min(n / span, 1), or T_n = T0 rate^n
//   logarithmic  T_n = c / ln(n + n0), n0 > 1 (Hajek 1988: converges to the global minima in
//                probability iff c >= d*, the deepest non-global well's escape barrier)
//   piecewise    knots (step_i, T_i), linear between, constant outside
// Reference: B. Hajek, Math. Oper. Res. 13, 311 (1988).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace langevin {

struct Schedule {
    enum class Kind { constant, linear, geometric, logarithmic, piecewise };
    Kind kind = Kind::constant;
    double T = 1.0;            ///< constant
    double T0 = 1.0, T1 = 1.0; ///< linear, geometric
    std::uint64_t span = 0;    ///< linear/geometric: steps from T0 to T1
    double rate = 0;           ///< geometric with a rate (T1 unused) when > 0
    double c = 1.0, n0 = 2.0;  ///< logarithmic
    std::vector<std::pair<std::uint64_t, double>> knots; ///< piecewise

    /// T_n.
    double at(std::uint64_t n) const;
    bool is_constant() const { return kind == Kind::constant; }
    /// T_n for n in [first, first + count): one value when constant.
    std::vector<double> table(std::uint64_t first, std::uint64_t count) const;
    /// One line, e.g. "logarithmic T = 0.8 / ln(n + 2)".
    std::string describe() const;
};

} // namespace langevin
