#include "gateway/dispatcher.h"

namespace gh::gateway {

Dispatcher::Dispatcher(uv_loop_t* loop) : loop_(loop), timers_(loop) {
  uv_async_init(loop_, &async_, &Dispatcher::OnAsync);
  async_.data = this;
  uv_check_init(loop_, &check_);
  check_.data = this;
  uv_check_start(&check_, &Dispatcher::OnCheck);
  uv_unref(reinterpret_cast<uv_handle_t*>(&check_));
  // Timer callbacks run before the poll phase: flush their output in prepare
  // so it does not wait for the next I/O event.
  uv_prepare_init(loop_, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, &Dispatcher::OnPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));
}

Dispatcher::~Dispatcher() {
  DrainDeferred();
}

void Dispatcher::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    posted_.push_back(std::move(fn));
  }
  uv_async_send(&async_);
}

void Dispatcher::DeferDelete(std::unique_ptr<DeferredDeletable> object) {
  deferred_.push_back(std::move(object));
}

void Dispatcher::Close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;  // idempotent: owners may close on every exit path
    closed_ = true;
    posted_.clear();
  }
  DrainDeferred();
  timers_.Unref();
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&check_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
}

void Dispatcher::UnscheduleFlush(Flushable* target) {
  for (Flushable*& entry : flush_list_) {
    if (entry == target) entry = nullptr;
  }
}

void Dispatcher::RunFlushes() {
  // Flushing may schedule more (a write completing synchronously can make a
  // handler write elsewhere), so loop until the list stays empty.
  while (!flush_list_.empty()) {
    std::vector<Flushable*> batch;
    batch.swap(flush_list_);
    for (Flushable* target : batch) {
      if (target != nullptr) target->Flush();
    }
  }
}

void Dispatcher::OnPrepare(uv_prepare_t* handle) {
  auto* self = static_cast<Dispatcher*>(handle->data);
  self->DrainDeferred();
  self->RunFlushes();
}

void Dispatcher::OnAsync(uv_async_t* handle) {
  static_cast<Dispatcher*>(handle->data)->DrainPosted();
}

void Dispatcher::OnCheck(uv_check_t* handle) {
  auto* self = static_cast<Dispatcher*>(handle->data);
  self->RunFlushes();
  self->DrainDeferred();
  self->RunFlushes();
}

void Dispatcher::DrainPosted() {
  // Take everything queued so far; work posted while running waits for the
  // next wake-up (uv_async_send coalesces, so nothing is lost).
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    batch.swap(posted_);
  }
  for (auto& fn : batch)
    fn();
  DrainDeferred();
}

void Dispatcher::DrainDeferred() {
  if (draining_deferred_) return;  // a destructor closed the dispatcher: the outer loop goes on
  draining_deferred_ = true;
  while (!deferred_.empty()) {
    // Two vectors trade places so both keep their capacity: no allocation
    // per loop iteration for the list itself.
    doomed_.swap(deferred_);
    doomed_.clear();  // destructors may defer more
  }
  draining_deferred_ = false;
}

}  // namespace gh::gateway
