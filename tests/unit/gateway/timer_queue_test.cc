#include "gateway/timer_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace gh::gateway {
namespace {

class TimerQueueTest : public ::testing::Test {
 protected:
  void SetUp() override { uv_loop_init(&loop_); }
  void TearDown() override {
    queue_->Close();
    uv_run(&loop_, UV_RUN_DEFAULT);
    queue_.reset();
    uv_loop_close(&loop_);
  }
  uv_loop_t loop_;
  std::unique_ptr<TimerQueue> queue_ = nullptr;
};

TEST_F(TimerQueueTest, FiresInDeadlineOrderAndCancelWorks) {
  queue_ = std::make_unique<TimerQueue>(&loop_);
  std::vector<int> fired;
  Timer a(*queue_, [&] { fired.push_back(1); });
  Timer b(*queue_, [&] { fired.push_back(2); });
  Timer c(*queue_, [&] { fired.push_back(3); });
  a.Arm(30);
  b.Arm(10);
  c.Arm(20);
  c.Cancel();
  EXPECT_FALSE(c.armed());
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, (std::vector<int>{2, 1}));
  EXPECT_EQ(queue_->armed(), 0u);
}

TEST_F(TimerQueueTest, RearmMovesDeadlineAndCallbacksMayDestroyTimers) {
  queue_ = std::make_unique<TimerQueue>(&loop_);
  std::vector<int> fired;
  auto later = std::make_unique<Timer>(*queue_, [&] { fired.push_back(2); });
  Timer first(*queue_, [&] {
    fired.push_back(1);
    later.reset();  // destroying an armed timer from a callback is safe
  });
  later->Arm(5);
  first.Arm(50);
  later->Arm(100);  // re-arm: now after `first`
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, (std::vector<int>{1}));
}

TEST_F(TimerQueueTest, CallbackCanRearmItself) {
  queue_ = std::make_unique<TimerQueue>(&loop_);
  int count = 0;
  std::unique_ptr<Timer> t;
  t = std::make_unique<Timer>(*queue_, [&] {
    if (++count < 3) t->Arm(1);
  });
  t->Arm(1);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(count, 3);
}

}  // namespace
}  // namespace gh::gateway
