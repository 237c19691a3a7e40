#include "gateway/timer_queue.h"

namespace gh::gateway {

TimerQueue::TimerQueue(uv_loop_t* loop) : loop_(loop) {
  uv_timer_init(loop_, &handle_);
  handle_.data = this;
}

TimerQueue::~TimerQueue() {
  for (Timer* timer : heap_)
    timer->slot_ = Timer::kNotQueued;
}

void TimerQueue::Unref() {
  uv_unref(reinterpret_cast<uv_handle_t*>(&handle_));
}

void TimerQueue::Close() {
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_))) {
    uv_close(reinterpret_cast<uv_handle_t*>(&handle_), nullptr);
  }
}

void TimerQueue::Place(Timer* timer, size_t index) {
  heap_[index] = timer;
  timer->slot_ = index;
}

void TimerQueue::SiftUp(size_t index) {
  Timer* timer = heap_[index];
  while (index > 0) {
    const size_t parent = (index - 1) / 2;
    if (heap_[parent]->key_ <= timer->key_) break;
    Place(heap_[parent], index);
    index = parent;
  }
  Place(timer, index);
}

void TimerQueue::SiftDown(size_t index) {
  Timer* timer = heap_[index];
  const size_t size = heap_.size();
  while (true) {
    size_t child = 2 * index + 1;
    if (child >= size) break;
    if (child + 1 < size && heap_[child + 1]->key_ < heap_[child]->key_) ++child;
    if (timer->key_ <= heap_[child]->key_) break;
    Place(heap_[child], index);
    index = child;
  }
  Place(timer, index);
}

void TimerQueue::Push(Timer* timer) {
  heap_.push_back(timer);
  timer->slot_ = heap_.size() - 1;
  SiftUp(timer->slot_);
}

void TimerQueue::Remove(Timer* timer) {
  const size_t index = timer->slot_;
  timer->slot_ = Timer::kNotQueued;
  Timer* last = heap_.back();
  heap_.pop_back();
  if (last == timer) return;
  Place(last, index);
  // The moved timer may belong above or below its new slot.
  if (index > 0 && heap_[(index - 1) / 2]->key_ > last->key_) {
    SiftUp(index);
  } else {
    SiftDown(index);
  }
  // Leaving the uv timer scheduled early is harmless: OnFire re-arms.
}

void TimerQueue::Reschedule() {
  if (heap_.empty()) return;
  const uint64_t first = heap_.front()->key_;
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
  // so take one expired entry at a time from the top.
  while (!self->heap_.empty() && self->heap_.front()->key_ <= now) {
    Timer* timer = self->heap_.front();
    if (timer->deadline_ != timer->key_) {
      // Re-armed later since it was queued: move it to its real deadline
      // (even if that is due too, so due timers fire in deadline order).
      timer->key_ = timer->deadline_;
      self->SiftDown(0);
      continue;
    }
    self->Remove(timer);
    timer->callback_();
  }
  self->Reschedule();
}

void Timer::Arm(uint64_t ms) {
  deadline_ = queue_->Now() + ms;
  if (armed()) {
    if (deadline_ >= key_) return;  // later than queued: settled when the key is due
    key_ = deadline_;
    queue_->SiftUp(slot_);
  } else {
    key_ = deadline_;
    queue_->Push(this);
  }
  queue_->Reschedule();
}

void Timer::Cancel() {
  if (armed()) queue_->Remove(this);
}

}  // namespace gh::gateway
