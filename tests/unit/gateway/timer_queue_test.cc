#include "gateway/timer_queue.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <map>
#include <memory>
#include <random>
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

TEST_F(TimerQueueTest, LaterRearmIsLazyButFiresAtTheNewDeadline) {
  queue_ = std::make_unique<TimerQueue>(&loop_);
  std::vector<int> fired;
  Timer idle(*queue_, [&] { fired.push_back(1); });
  Timer other(*queue_, [&] { fired.push_back(2); });
  idle.Arm(5);
  idle.Arm(40);  // keeps its old heap key; must not fire at 5
  other.Arm(20);
  const uint64_t start = uv_now(&loop_);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(fired, (std::vector<int>{2, 1}));
  EXPECT_GE(uv_now(&loop_) - start, 40u);
}

// Random arms, re-arms (earlier and later) and cancels against a model: every
// armed timer fires exactly once, never before its last deadline, and the
// timers fire in deadline order; cancelled ones never fire.
TEST_F(TimerQueueTest, RandomOperationsMatchAModel) {
  queue_ = std::make_unique<TimerQueue>(&loop_);
  constexpr int kTimers = 64;
  std::mt19937 rng(12345);
  std::map<int, uint64_t> expected;             // timer -> deadline it must fire at
  std::vector<std::pair<int, uint64_t>> fires;  // (timer, loop time when fired)
  std::vector<uint64_t> fired_deadlines;
  std::vector<std::unique_ptr<Timer>> timers;
  for (int i = 0; i < kTimers; ++i) {
    timers.push_back(std::make_unique<Timer>(*queue_, [&, i] {
      fires.emplace_back(i, uv_now(&loop_));
      fired_deadlines.push_back(timers[i]->deadline());
      EXPECT_TRUE(expected.count(i)) << "timer " << i << " fired but was not armed";
      expected.erase(i);
    }));
  }
  for (int round = 0; round < 40; ++round) {
    for (int op = 0; op < 16; ++op) {
      const int i = static_cast<int>(rng() % kTimers);
      if (rng() % 4 == 0) {
        timers[i]->Cancel();
        expected.erase(i);
      } else {
        timers[i]->Arm(rng() % 12);
        expected[i] = timers[i]->deadline();
      }
      EXPECT_EQ(queue_->armed(), expected.size());
    }
    usleep(1000);
    uv_run(&loop_, UV_RUN_NOWAIT);
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_TRUE(expected.empty());
  EXPECT_EQ(queue_->armed(), 0u);
  ASSERT_FALSE(fires.empty());
  for (size_t k = 0; k < fires.size(); ++k) {
    EXPECT_GE(fires[k].second, fired_deadlines[k]) << "timer " << fires[k].first << " fired early";
    if (k > 0 && fires[k].second == fires[k - 1].second) {
      EXPECT_LE(fired_deadlines[k - 1], fired_deadlines[k]) << "out of deadline order";
    }
  }
}

}  // namespace
}  // namespace gh::gateway
