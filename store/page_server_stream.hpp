// Streaming checkpoints: CRIU (`dump --page-server`, or the RPC page_server
// option) sends the pages to stasis, which hashes, deduplicates and compresses
// them into the store as they arrive. No pages file is ever written: only the
// small non-page images land in CRIU's images dir.
//
// The checkpoint is the same as one ingested from a directory holding the same
// images (same chunks, same chunk lists): pages are chunked per 4 KiB page,
// grouped by 128 KiB virtual-address window, and the pagemap images are
// written the way CRIU's own page server writes them.
#pragma once

#include "store/store.hpp"

#include <memory>
#include <stop_token>

namespace stasis::store {

class StreamingCheckpoint {
public:
  // Starts the next checkpoint of job, within limits. Holds the store's
  // write lock until it is committed or destroyed (a destroyed, uncommitted
  // one leaves no trace).
  static Result<std::unique_ptr<StreamingCheckpoint>>
  begin(const Store& store, const std::string& job, const StoreLimits& limits = {});
  ~StreamingCheckpoint();
  StreamingCheckpoint(const StreamingCheckpoint&) = delete;
  StreamingCheckpoint& operator=(const StreamingCheckpoint&) = delete;

  // Serves one page-server connection of a dump until CRIU closes it. Anything
  // unexpected (a GET, parent pages, a malformed header) is refused, and
  // storing may fail (a full disk, the limits): either is logged with the
  // reason and returned as an error, at the first failure, and the
  // connection is shut down then, so that CRIU's next write fails and the
  // dump ends (thawing the target) at once.
  Result<void> receive(int fd, const std::stop_token& stop = {});

  // Why receive() stopped taking pages on the store's side (a full disk, a
  // limit, a refused request); "" when it did not (CRIU ended the stream).
  const std::string& failure() const;

  // Stores the other images of the dump (images_dir, which must not hold
  // pages) together with the received pages as the next checkpoint of the job.
  Result<CheckpointSummary> commit(const fs::path& images_dir, const IngestInfo& info);

  // Pages taken so far; any thread may ask while receive() runs.
  std::uint64_t pages_received() const;
  std::uint64_t id() const;

  struct State;

private:
  explicit StreamingCheckpoint(std::unique_ptr<State> state);
  Result<void> receive_stream(int fd, const std::stop_token& stop);
  std::unique_ptr<State> m_state;
};

} // namespace stasis::store
