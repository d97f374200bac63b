// Turning results into text tables and JSON (host only).
#pragma once

#include <ostream>
#include <string>

#include "langevin/study.hpp"

namespace langevin {

/// The `--json` document: config, backend, device, walker_steps_per_second, samples.
std::string result_json(const Study &study, const RunResult &result);

/// Human-readable tables.
void print_result(std::ostream &out, const Study &study, const RunResult &result);

/// Advice printed when walkers become non-finite; empty when there are none or the run stopped
/// on them (its error says the same).
std::string nonfinite_advice(const Study &study, const RunResult &result);

/// `langevin info`: backends, devices, potentials with parameters, integrators.
void print_info(std::ostream &out);

} // namespace langevin
