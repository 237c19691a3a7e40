// The facade of one event loop: cross-thread posting (mutex queue +
// uv_async_t, drained fully per wake-up), timers, and deferred deletion of
// objects whose callbacks may still be on the stack.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "gateway/deferred_deletable.h"
#include "gateway/timer_queue.h"

namespace gh::gateway {

// Something that batches output during a loop iteration and writes it once
// (one writev per connection per iteration instead of one per Write call).
class Flushable {
 public:
  virtual void Flush() = 0;

 protected:
  ~Flushable() = default;
};

class Dispatcher {
 public:
  // Runs on `loop`, which the caller owns and runs.
  explicit Dispatcher(uv_loop_t* loop);
  ~Dispatcher();
  Dispatcher(const Dispatcher&) = delete;
  Dispatcher& operator=(const Dispatcher&) = delete;

  uv_loop_t* loop() const { return loop_; }
  TimerQueue& timers() { return timers_; }
  uint64_t Now() const { return uv_now(loop_); }

  // Thread-safe: runs `fn` on this loop soon. Posting to a closed
  // dispatcher drops the work.
  void Post(std::function<void()> fn);
  // Frees `object` after the current callback chain unwinds.
  void DeferDelete(std::unique_ptr<DeferredDeletable> object);
  // Flushes `target` before the loop next waits for I/O. Unschedule before
  // `target` dies.
  void ScheduleFlush(Flushable* target) { flush_list_.push_back(target); }
  void UnscheduleFlush(Flushable* target);
  // Closes the dispatcher's own handles; the loop can then run to completion.
  // Timers keep running (unreferenced) until CloseTimers: lingering closes,
  // connect and handshake deadlines still bound what is left on the loop.
  void Close();
  // After the loop has run to completion, before the dispatcher is freed
  // (then run the loop once more so libuv lets go of the handle).
  void CloseTimers() { timers_.Close(); }
  bool IsLoopThread() const { return std::this_thread::get_id() == thread_id_; }
  void BindToCurrentThread() { thread_id_ = std::this_thread::get_id(); }

 private:
  static void OnAsync(uv_async_t* handle);
  static void OnCheck(uv_check_t* handle);
  static void OnPrepare(uv_prepare_t* handle);
  void RunFlushes();
  void DrainPosted();
  void DrainDeferred();

  uv_loop_t* loop_;
  uv_async_t async_;
  uv_check_t check_;
  uv_prepare_t prepare_;
  std::vector<Flushable*> flush_list_;
  TimerQueue timers_;
  std::mutex mutex_;
  std::deque<std::function<void()>> posted_;
  bool closed_ = false;
  std::vector<std::unique_ptr<DeferredDeletable>> deferred_;
  std::vector<std::unique_ptr<DeferredDeletable>> doomed_;  // being deleted now
  bool draining_deferred_ = false;
  std::thread::id thread_id_ = std::this_thread::get_id();
};

}  // namespace gh::gateway
