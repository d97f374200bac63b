// The potential registry: adding a potential is one header, its #include and its name in the
// variant below. Every potential listed here is compiled for both precisions on every backend and
// enrolled in the generic tests (force = -grad E, CPU vs CUDA, reproducibility).
#pragma once

#include <variant>

#include "langevin/potentials/ackley.hpp"
#include "langevin/potentials/double_well.hpp"
#include "langevin/potentials/free.hpp"
#include "langevin/potentials/harmonic.hpp"
#include "langevin/potentials/linear_regression.hpp"
#include "langevin/potentials/logistic_regression.hpp"
#include "langevin/potentials/muller_brown.hpp"
#include "langevin/potentials/rastrigin.hpp"
#include "langevin/potentials/sine_fit.hpp"
#include "langevin/potentials/styblinski_tang.hpp"

namespace langevin {

using Potential = std::variant<Free, Harmonic, DoubleWell, MullerBrown, Rastrigin, Ackley,
                               StyblinskiTang, LinearRegression, LogisticRegression, SineFit>;

} // namespace langevin
