// Runs a previous stasisd left unfinished (it was killed or crashed): at start
// the daemon settles them in the history with what can still be found out.
#pragma once

#include "manager/api.hpp"
#include "store/store.hpp"

#include <functional>
#include <optional>
#include <string>

namespace stasis::manager {

class RunHistory;

// The id of a checkpoint of job stored at or after `since`, if any (the store
// seen from the run history, to tell whether a checkpoint run got that far).
using StoredSince =
    std::function<std::optional<std::string>(const std::string& job, TimePoint since)>;

// The StoredSince of a store: the newest checkpoint of the job created in or
// after the second `since` falls in that no run of the history claims.
StoredSince checkpoints_stored_since(const store::Store& store,
                                     const RunHistory& history);

// Gives an unfinished run its final state: a queued run never started and is
// Cancelled; a running one is Interrupted, its error telling what is known. A
// restore whose pid was recorded says whether that tree still runs (and is
// the restored one, not a later process with its pid) or is stopped; a
// checkpoint says whether it stored its checkpoint (which it then names).
void settle_unfinished_run(RunInfo& run, TimePoint now, const StoredSince& stored_since);

// Settles every unfinished run of the history; returns how many there were.
Result<std::size_t> settle_unfinished_runs(RunHistory& history, TimePoint now,
                                           const StoredSince& stored_since);

} // namespace stasis::manager
