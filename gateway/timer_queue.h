// Per-loop timers without a libuv handle each: one uv_timer_t fires at the
// earliest key of an intrusive binary min-heap (each Timer knows its slot).
// Arming and cancelling are O(log n) and never allocate, so every stream and
// connection can own several timers cheaply; destruction is synchronous (no
// uv_close). Pushing an armed timer's deadline later (idle and keep-alive
// timers, re-armed on every request) only records the new deadline: the heap
// keeps the old, earlier key, and when that key comes due the timer is moved
// to its real deadline instead of firing.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <vector>

namespace gh::gateway {

class Timer;

class TimerQueue {
 public:
  explicit TimerQueue(uv_loop_t* loop);
  ~TimerQueue();
  TimerQueue(const TimerQueue&) = delete;
  TimerQueue& operator=(const TimerQueue&) = delete;

  uint64_t Now() const { return uv_now(loop_); }
  size_t armed() const { return heap_.size(); }
  // Timers keep firing but no longer keep the loop alive (shutdown: what
  // still lingers on the loop stays bounded by its timers).
  void Unref();
  // Starts uv_close on the backing handle; call before closing the loop.
  void Close();

 private:
  friend class Timer;
  void Push(Timer* timer);
  void Remove(Timer* timer);
  void SiftUp(size_t index);
  void SiftDown(size_t index);
  void Place(Timer* timer, size_t index);
  void Reschedule();
  static void OnFire(uv_timer_t* handle);

  uv_loop_t* loop_;
  uv_timer_t handle_;
  std::vector<Timer*> heap_;  // min-heap on Timer::key_
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
  bool armed() const { return slot_ != kNotQueued; }
  uint64_t deadline() const { return deadline_; }

 private:
  friend class TimerQueue;
  static constexpr size_t kNotQueued = SIZE_MAX;
  TimerQueue* queue_;
  std::function<void()> callback_;
  uint64_t deadline_ = 0;  // when the callback is due
  uint64_t key_ = 0;       // its heap key: <= deadline_ (later re-arms are lazy)
  size_t slot_ = kNotQueued;
};

}  // namespace gh::gateway
