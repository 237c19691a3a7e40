// The main thread's DNS refresher over a real c-ares channel, with names
// from /etc/hosts only (no name server needed): answers are published when
// a config needs a name and withdrawn when no config does.
#include "gateway/dns_refresher.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>

#include "gateway/dispatcher.h"
#include "tests/unit/gateway/loop_test.h"

namespace gh::gateway {
namespace {

routing::Config ConfigResolving(std::vector<std::string> names) {
  routing::Config config;
  config.proxy.dns_lookup_family = routing::DnsLookupFamily::kV4Only;
  for (std::string& name : names) {
    routing::Cluster c;
    c.name = "outbound|80||" + name;
    c.host = name;
    c.resolution = routing::Resolution::kDns;
    c.endpoints.push_back({std::move(name), 80, 1, {}, {}});
    config.clusters.push_back(std::move(c));
  }
  return config;
}

class DnsRefresherTest : public LoopTest {
 protected:
  void SetUp() override {
    LoopTest::SetUp();
    refresher_ = std::make_unique<DnsRefresher>(
        *dispatcher_, [this](std::shared_ptr<const routing::DnsAnswers> answers) {
          published_.push_back(std::move(answers));
        });
  }
  void ReleaseLoopObjects() override { refresher_.reset(); }
  // Runs the loop until something is published (or a few seconds pass).
  bool WaitForPublish(size_t count) {
    for (int i = 0; i < 500 && published_.size() < count; ++i) {
      uv_run(&loop_, UV_RUN_NOWAIT);
      usleep(10000);
    }
    return published_.size() >= count;
  }

  std::unique_ptr<DnsRefresher> refresher_;
  std::vector<std::shared_ptr<const routing::DnsAnswers>> published_;
};

TEST_F(DnsRefresherTest, PublishesHostsFileAnswersAndWithdrawsForgottenNames) {
  refresher_->Update(ConfigResolving({"localhost"}));
  ASSERT_TRUE(WaitForPublish(1));
  const routing::DnsAnswers& first = *published_.back();
  ASSERT_EQ(first.count("localhost"), 1u);
  const std::vector<std::string>& addresses = first.at("localhost");
  EXPECT_NE(std::find(addresses.begin(), addresses.end(), "127.0.0.1"), addresses.end());
  EXPECT_EQ(refresher_->successes(), 1u);
  EXPECT_EQ(refresher_->failures(), 0u);

  // The same names again (a reload that keeps them): nothing new to say.
  refresher_->Update(ConfigResolving({"localhost"}));
  EXPECT_EQ(published_.size(), 1u);

  refresher_->Update(ConfigResolving({}));
  ASSERT_EQ(published_.size(), 2u);
  EXPECT_TRUE(published_.back()->empty());
}

TEST_F(DnsRefresherTest, StaticClustersNeedNoResolution) {
  routing::Config config = ConfigResolving({"localhost"});
  config.clusters[0].resolution = routing::Resolution::kStatic;
  refresher_->Update(config);
  uv_run(&loop_, UV_RUN_NOWAIT);
  EXPECT_TRUE(published_.empty());
  EXPECT_EQ(refresher_->successes(), 0u);
}

}  // namespace
}  // namespace gh::gateway
