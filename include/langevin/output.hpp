// HDF5 output following H5MD 1.1 (results) and checkpoints (host only). See README "HDF5 output".
#pragma once

#include <string>
#include <vector>

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

/// A shard's results file (`langevin run --shard i/K -o FILE`), read back for merging:
/// result holds its range, raw totals, trajectories (if it starts at walker 0) and timings.
struct ShardFile {
    std::string path;
    Study study;
    RunResult result;
};
ShardFile read_shard(const std::string &path);

/// Checks that the shards are of one study and hold each of its walkers exactly once, and adds
/// their totals: the result is bitwise that of the single run (timings aside). Sets *study to
/// the merged study (shard 0/1). allow_stopped (MPI ranks): merge the samples that every shard
/// reached instead of refusing a shard that on_nonfinite = "stop" ended early. `interrupted` and
/// `references`: as for summarise_run.
RunResult merge_shards(const std::vector<ShardFile> &shards, Study *study,
                       bool allow_stopped = false, const std::function<bool()> &interrupted = {},
                       ReferenceCache *references = nullptr);

} // namespace langevin
