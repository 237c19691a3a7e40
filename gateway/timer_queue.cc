#include "gateway/timer_queue.h"

namespace gh::gateway {

TimerQueue::TimerQueue(uv_loop_t* loop) : loop_(loop) {
  uv_timer_init(loop_, &handle_);
  handle_.data = this;
}

TimerQueue::~TimerQueue() = default;

void TimerQueue::Unref() {
  uv_unref(reinterpret_cast<uv_handle_t*>(&handle_));
}

void TimerQueue::Close() {
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
  }
}

void TimerQueue::Insert(Timer* timer) {
  entries_.emplace(timer->deadline_, timer);
  Reschedule();
}

void TimerQueue::Erase(Timer* timer) {
  entries_.erase({timer->deadline_, timer});
  // Leaving the uv timer scheduled early is harmless: OnFire re-arms.
}

void TimerQueue::Reschedule() {
  if (entries_.empty()) return;
  const uint64_t first = entries_.begin()->first;
  if (first >= scheduled_for_) return;
  const uint64_t now = Now();
  scheduled_for_ = first;
  uv_timer_start(&handle_, &TimerQueue::OnFire, first > now ? first - now : 0, 0);
}

void TimerQueue::OnFire(uv_timer_t* handle) {
  auto* self = static_cast<TimerQueue*>(handle->data);
  self->scheduled_for_ = UINT64_MAX;
  const uint64_t now = self->Now();
  // Callbacks may arm, cancel or destroy any timer (including the next one),
  // so take one expired entry at a time from the front.
  while (!self->entries_.empty() && self->entries_.begin()->first <= now) {
    Timer* timer = self->entries_.begin()->second;
    self->entries_.erase(self->entries_.begin());
    timer->armed_ = false;
    timer->callback_();
  }
  self->Reschedule();
}

void Timer::Arm(uint64_t ms) {
  if (armed_) queue_->Erase(this);
  deadline_ = queue_->Now() + ms;
  armed_ = true;
  queue_->Insert(this);
}

void Timer::Cancel() {
  if (!armed_) return;
  queue_->Erase(this);
  armed_ = false;
}

}  // namespace gh::gateway
