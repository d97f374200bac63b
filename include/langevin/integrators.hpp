// The integrator registry: one line per integrator.
#pragma once

#include <variant>

#include "langevin/integrators/baoab.hpp"
#include "langevin/integrators/euler_maruyama.hpp"
#include "langevin/integrators/leimkuhler_matthews.hpp"
#include "langevin/integrators/sgd.hpp"

namespace langevin {

using Integrator = std::variant<EulerMaruyama, LeimkuhlerMatthews, BAOAB, Sgd>;

} // namespace langevin
