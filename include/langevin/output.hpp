// HDF5 output following H5MD 1.1 (results) and checkpoints (host only). See README "HDF5 output".
#pragma once

#include <string>

#include "langevin/study.hpp"

namespace langevin {

/// Writes the results to `path` through a temporary file renamed on success.
void write_results(const std::string &path, const Study &study, const RunResult &result);

/// Where the checkpoint of an output file lives while the run is in progress.
std::string checkpoint_path(const std::string &output);

/// Writes a checkpoint (study, walkers of the chunk in progress, accumulated samples) atomically.
void write_checkpoint(const std::string &path, const Study &study, const RunState &state);

struct Checkpoint {
    Study study;
    RunState state;
};

/// Reads a checkpoint written by write_checkpoint: the study comes from its stored configuration.
Checkpoint read_checkpoint(const std::string &path);

} // namespace langevin
