// Per-loop timers without a libuv handle each: one uv_timer_t fires at the
// earliest deadline of an ordered set. Arming, re-arming and cancelling are
// O(log n) and never allocate a handle, so every stream and connection can
// own several timers cheaply; destruction is synchronous (no uv_close).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <set>
#include <utility>

namespace gh::gateway {

class Timer;

class TimerQueue {
 public:
  explicit TimerQueue(uv_loop_t* loop);
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  uint64_t Now() const { return uv_now(loop_); }
  size_t armed() const { return entries_.size(); }
  // Timers keep firing but no longer keep the loop alive (shutdown: what
  // still lingers on the loop stays bounded by its timers).
  void Unref();
  // Starts uv_close on the backing handle; call before closing the loop.
  void Close();

 private:
  friend class Timer;
  using Entry = std::pair<uint64_t, Timer*>;
  void Insert(Timer* timer);
  void Erase(Timer* timer);
  void Reschedule();
  static void OnFire(uv_timer_t* handle);

  uv_loop_t* loop_;
  uv_timer_t handle_;
  std::set<Entry> entries_;
  uint64_t scheduled_for_ = UINT64_MAX;
};

class Timer {
 public:
  Timer(TimerQueue& queue, std::function<void()> callback)
      : queue_(&queue), callback_(std::move(callback)) {}
  ~Timer() { Cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  // (Re)arms the timer to fire `ms` milliseconds from the loop's now.
  void Arm(uint64_t ms);
  void Cancel();
  bool armed() const { return armed_; }
  uint64_t deadline() const { return deadline_; }

 private:
  friend class TimerQueue;
  TimerQueue* queue_;
  std::function<void()> callback_;
  uint64_t deadline_ = 0;
  bool armed_ = false;
};

}  // namespace gh::gateway
