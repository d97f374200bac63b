// `langevin merge`: shards of one study, checked for coverage, added exactly.
#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "langevin/output.hpp"

namespace langevin {
namespace {

/// The first line where two stored configurations differ, for the error message.
std::string first_difference(const std::string &a, const std::string &b) {
    std::istringstream sa(a), sb(b);
    std::string la, lb;
    for (int line = 1;; ++line) {
        const bool ga = bool(std::getline(sa, la)), gb = bool(std::getline(sb, lb));
        if (!ga && !gb)
            return "";
        if (!ga || !gb || la != lb)
            return detail::concat("line ", line, ": '", ga ? la : "<end>", "' vs '",
                                  gb ? lb : "<end>", "'");
    }
}

/// The parts of a stored configuration that decide results: all but the output file and
/// checkpoint cadence, ensemble.chunk, and [backend] (threads, block size, device: none changes a
/// result; the backend kind is checked on the shards' results).
std::string result_config(const Study &s) {
    nlohmann::json j = nlohmann::json::parse(s.resolved_json);
    j.erase("backend");
    if (j.contains("ensemble"))
        j["ensemble"].erase("chunk");
    if (j.contains("output")) {
        nlohmann::json keep = {{"trajectories", j["output"]["trajectories"]},
                               {"trajectory_every", j["output"]["trajectory_every"]},
                               {"on_nonfinite", j["output"]["on_nonfinite"]}};
        j["output"] = keep;
    }
    return j.dump(1);
}

std::string join_unique(const std::vector<std::string> &items) {
    std::vector<std::string> seen;
    std::string out;
    for (const std::string &s : items)
        if (std::find(seen.begin(), seen.end(), s) == seen.end()) {
            seen.push_back(s);
            out += (out.empty() ? "" : ", ") + s;
        }
    return out;
}

} // namespace

RunResult merge_shards(const std::vector<ShardFile> &shards, Study *study, bool allow_stopped,
                       const std::function<bool()> &interrupted, ReferenceCache *references) {
    LGV_REQUIRE(!shards.empty(), "merge: give at least one shard file");
    const ShardFile &first = shards.front();
    for (const ShardFile &s : shards) {
        const std::string a = result_config(first.study), b = result_config(s.study);
        LGV_REQUIRE(a == b, "merge: ", first.path, " and ", s.path,
                    " are shards of different studies (stored configurations differ at ",
                    first_difference(a, b), "); merge only shards of one study");
        LGV_REQUIRE(allow_stopped || !s.result.stopped, "merge: ", s.path, " stopped early (",
                    s.result.stop_reason,
                    "); its walkers did not reach every sample, so no merge can equal the single "
                    "run");
    }

    // Coverage: sorted by first walker, each shard must start where the previous one ended.
    std::vector<const ShardFile *> order;
    for (const ShardFile &s : shards)
        order.push_back(&s);
    std::stable_sort(order.begin(), order.end(), [](const ShardFile *a, const ShardFile *b) {
        return a->result.range.begin != b->result.range.begin
                   ? a->result.range.begin < b->result.range.begin
                   : a->result.range.end < b->result.range.end;
    });
    const std::uint64_t walkers = first.study.walkers;
    std::uint64_t covered = 0;
    const ShardFile *previous = nullptr;
    for (const ShardFile *s : order) {
        const WalkerRange r = s->result.range;
        if (r.begin == r.end)
            continue; // an empty shard (fewer moment blocks than shards)
        LGV_REQUIRE(r.begin <= covered, "merge: walkers ", covered, "..", r.begin - 1,
                    " are in no shard (a gap before ", s->path, ", shard ", s->study.shard.index,
                    "/", s->study.shard.count, "); add the missing shard");
        LGV_REQUIRE(r.begin == covered, "merge: ", previous ? previous->path : "?", " and ",
                    s->path, " both hold walkers ", r.begin, "..", std::min(r.end, covered) - 1,
                    " (overlapping shards: give each shard once, all with the same K)");
        covered = r.end;
        previous = s;
    }
    LGV_REQUIRE(covered == walkers, "merge: walkers ", covered, "..", walkers - 1,
                " are in no shard (", shards.size(), " shard file(s) cover 0..",
                covered == 0 ? 0 : covered - 1, "); add the missing shard(s)");

    RunResult merged;
    std::vector<std::string> backends, devices;
    std::vector<Accumulator> totals(first.study.samples.size());
    const ShardFile *reference = order.front(); // the first shard that holds walkers
    for (const ShardFile *s : order)
        if (s->result.range.begin < s->result.range.end) {
            reference = s;
            break;
        }
    // A stopped shard reached only its first samples: keep those every shard reached.
    std::size_t reached = totals.size();
    for (const ShardFile *s : order) {
        const RunResult &r = s->result;
        if (r.range.begin == r.range.end)
            continue;
        std::size_t k = 0;
        while (k < r.accumulators.size() && !r.accumulators[k].empty())
            ++k;
        reached = std::min(reached, k);
        if (r.stopped && !merged.stopped) {
            merged.stopped = true;
            merged.stop_reason = r.stop_reason;
        }
    }
    for (const ShardFile *s : order) {
        const RunResult &r = s->result;
        LGV_REQUIRE(r.accumulators.size() == totals.size(), "merge: ", s->path, " holds ",
                    r.accumulators.size(), " samples, the study has ", totals.size());
        for (std::size_t k = 0; k < reached; ++k)
            totals[k].merge(r.accumulators[k]);
        if (r.range.begin == 0 && r.range.end > 0)
            merged.trajectories = r.trajectories;
        LGV_REQUIRE(r.range.begin == r.range.end || r.backend == reference->result.backend,
                    "merge: ", reference->path, " ran on the ", reference->result.backend,
                    " backend and ", s->path, " on ", r.backend,
                    ": walkers agree bitwise only within one backend, so the merge could not "
                    "equal a single run; run every shard with the same --backend");
        backends.push_back(r.backend);
        devices.push_back(r.device);
        merged.seconds += r.seconds;
        merged.chunks += r.chunks;
        merged.chunk_walkers = std::max(merged.chunk_walkers, r.chunk_walkers);
    }
    *study = first.study;
    study->shard = Shard{};
    merged.backend = join_unique(backends);
    merged.device = join_unique(devices);
    merged.walkers = walkers;
    merged.steps = study->steps;
    merged.range = {0, walkers};
    // seconds: summed over shards (device-seconds), so the rate is per device.
    merged.walker_steps_per_second =
        merged.seconds > 0 ? double(walkers) * double(study->steps) / merged.seconds : 0.0;
    summarise_run(*study, totals, merged, interrupted, references);
    merged.accumulators = std::move(totals);
    return merged;
}

} // namespace langevin
