// The run queue's unit tests share this: a Gate work waits on, a bounded
// wait for a condition, and a fixture with a history in a temp dir that
// collects the queue's events.
#pragma once

#include "manager/run_history.hpp"
#include "manager/run_queue.hpp"

#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>
#include <unistd.h>

#include <gtest/gtest.h>

namespace stasis::manager::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

// A gate work can wait on until the test opens it.
class Gate {
public:
  void open() {
    {
      std::lock_guard lock(m_mutex);
      m_open = true;
    }
    m_cv.notify_all();
  }
  void wait() {
    std::unique_lock lock(m_mutex);
    m_cv.wait(lock, [this] { return m_open; });
  }
  // Waits until the gate is open, at most 10 s (a guard against a hang, not a
  // measure): false when it did not open.
  bool wait_bounded() {
    std::unique_lock lock(m_mutex);
    return m_cv.wait_for(lock, std::chrono::seconds(10), [this] { return m_open; });
  }

private:
  std::mutex m_mutex;
  std::condition_variable m_cv;
  bool m_open = false;
};

// Waits (bounded) until a predicate holds.
template <typename Predicate>
bool eventually(Predicate predicate) {
  auto until = std::chrono::steady_clock::now() + 5s;
  while (!predicate()) {
    if (std::chrono::steady_clock::now() > until) {
      return false;
    }
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

inline RunWork succeed() {
  return [](RunContext&) { return RunOutcome{}; };
}

inline RunWork wait_for(Gate& gate) {
  return [&gate](RunContext&) {
    gate.wait();
    return RunOutcome{};
  };
}

class ARunQueue : public ::testing::Test {
protected:
  void SetUp() override {
    char name[] = "/tmp/stasis-queue-XXXXXX";
    ASSERT_NE(mkdtemp(name), nullptr);
    m_dir = name;
    m_history = std::move(*RunHistory::open(m_dir / "runs.jsonl", 10000, false));
  }
  void TearDown() override { fs::remove_all(m_dir); }

  std::unique_ptr<RunQueue> make_queue(unsigned limit, unsigned max_queued_per_user = 0) {
    auto queue = std::make_unique<RunQueue>(QueueLimits{limit, max_queued_per_user},
                                            m_clock, m_history.get());
    queue->set_event_sink([this](const Event& event) {
      std::lock_guard lock(m_events_mutex);
      m_events.push_back(event);
    });
    return queue;
  }

  std::string submit(RunQueue& queue, const std::string& job, RunWork work,
                     bool scheduled = false) {
    auto id =
        queue.submit(RunRequest{job, RunKind::Checkpoint, scheduled, std::move(work)});
    EXPECT_TRUE(id) << id.error().message;
    return id ? *id : "";
  }

  // The event kinds of one run, in order: "started", "progress", "finished:<state>".
  std::vector<std::string> events_of(const std::string& run) {
    std::lock_guard lock(m_events_mutex);
    std::vector<std::string> kinds;
    for (const auto& event : m_events) {
      if (auto* started = std::get_if<RunStartedEvent>(&event);
          started && started->run == run) {
        kinds.push_back("started");
      } else if (auto* progress = std::get_if<RunProgressEvent>(&event);
                 progress && progress->run == run) {
        kinds.push_back("progress");
      } else if (auto* finished = std::get_if<RunFinishedEvent>(&event);
                 finished && finished->run == run) {
        kinds.push_back("finished:" + to_string(finished->result));
      }
    }
    return kinds;
  }

  SystemClock m_clock;
  fs::path m_dir;
  std::unique_ptr<RunHistory> m_history;
  std::mutex m_events_mutex;
  std::vector<Event> m_events;
};

} // namespace stasis::manager::test
