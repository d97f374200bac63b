// What every integrator shares. An integrator is a plain struct with
//   name, underdamped, dt and its parameters,
//   Coeffs<T> coefficients<T>(kT): the per-temperature constants of one step,
//   Carry<T, D>: what one step hands the next (a pre-drawn normal, a cached force),
//   begin(pot, x) -> Carry, prime(carry, xi), step(pot, coeffs, x, v, xi, carry): step n receives
//   the D normals of step n + lookahead (lookahead 1 lets Leimkuhler-Matthews use xi_{n+1};
//   prime hands it xi_first), so every integrator draws exactly D normals per step,
//   params(), make(values).
// Overdamped integrators (underdamped = false) leave v as it is: the CUDA backend neither loads
// nor stores their velocities.
// Mini-batch integrators (sgd.hpp) instead provide step_minibatch(pot, coeffs, x, xi, key,
// walker, n) and coefficients<T>(kT, n): advance.hpp runs them through MinibatchSteps, which
// knows each step's walker id and index.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "langevin/error.hpp"
#include "langevin/rng.hpp"

namespace langevin {

/// One named integrator parameter with its default.
struct IntegratorParamSpec {
    const char *name;
    double default_value;
    const char *doc;
    bool integer = false; ///< read (and written back) as an integer >= integer_min
    std::int64_t integer_min = 0;
};

using IntegratorValues = std::map<std::string, double>;

namespace detail {
inline double positive_integrator_param(const IntegratorValues &values, const char *name) {
    const auto it = values.find(name);
    LGV_REQUIRE(it != values.end(), "[integrator] ", name, " is missing");
    LGV_REQUIRE(it->second > 0 && std::isfinite(it->second), "[integrator] ", name, " = ",
                it->second, ": must be a finite number > 0");
    return it->second;
}
} // namespace detail

} // namespace langevin
