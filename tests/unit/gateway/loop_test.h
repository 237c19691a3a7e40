// A libuv loop with a Dispatcher, for unit tests of worker-side objects
// without sockets. Teardown follows the worker's order: the test's
// loop-bound objects, then the dispatcher's handles, then the loop.
#pragma once

#include <gtest/gtest.h>
#include <uv.h>

#include <memory>

#include "gateway/dispatcher.h"

namespace gh::gateway {

class LoopTest : public ::testing::Test {
 protected:
  void SetUp() override {
    uv_loop_init(&loop_);
    dispatcher_ = std::make_unique<Dispatcher>(&loop_);
  }
  void TearDown() override {
    ReleaseLoopObjects();
    dispatcher_->Close();
    dispatcher_->CloseTimers();
    uv_run(&loop_, UV_RUN_NOWAIT);
    dispatcher_.reset();
    uv_run(&loop_, UV_RUN_NOWAIT);
    uv_loop_close(&loop_);
  }
  // Frees what the test built on the loop, before the loop goes.
  virtual void ReleaseLoopObjects() {}

  uv_loop_t loop_;
  std::unique_ptr<Dispatcher> dispatcher_;
};

}  // namespace gh::gateway
