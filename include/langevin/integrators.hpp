// The integrator registry: one line per integrator.
#pragma once

#include <variant>

#include "langevin/integrators/baoab.hpp"
#include "langevin/integrators/euler_maruyama.hpp"
#include "langevin/integrators/leimkuhler_matthews.hpp"

namespace langevin {

using Integrator = std::variant<EulerMaruyama, LeimkuhlerMatthews, BAOAB>;

} // namespace langevin
