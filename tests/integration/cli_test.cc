// The binary's command line: version, start-up failures with clear messages
// and exit status 1 (never a crash), check and explain on a real config.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/support/harness.h"

namespace gh::test {
namespace {

TEST(Cli, VersionAndUsage) {
  CommandResult version = RunCommand({GatehouseBin(), "version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("gatehouse ", 0), 0u) << version.out;
  CommandResult unknown = RunCommand({GatehouseBin(), "frobnicate"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("usage"), std::string::npos);
}

TEST(Cli, InvalidConfigAtStartExitsOneWithEveryError) {
  TempDir dir;
  const std::string path = dir.path() + "/bad.toml";
  WriteFile(path, R"([proxy]
workers = 1
idle_timout = "5s"

[[gateway]]
name = "edge"
[[gateway.servers]]
port = { number = 8080, name = "http", protocol = "HTTTP" }
hosts = ["*"]
)");
  CommandResult run = RunCommand({GatehouseBin(), "run", "-c", path}, milliseconds(10000));
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_NE(run.err.find(path + ":3:1"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("did you mean"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find(path + ":8:"), std::string::npos) << run.err;
  CommandResult check = RunCommand({GatehouseBin(), "check", "-c", path});
  EXPECT_EQ(check.exit_code, 1);
}

TEST(Cli, PortInUseExitsOneWithTheAddress) {
  // Hold a port without SO_REUSEPORT so the gateway cannot share it.
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(fd, 1), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const int port = ntohs(addr.sin_port);
  TempDir dir;
  const std::string path = dir.path() + "/c.toml";
  WriteFile(path, Subst(R"([proxy]
workers = 1
[[gateway]]
name = "edge"
[[gateway.servers]]
bind = "127.0.0.1"
port = { number = ${PORT}, name = "http", protocol = "HTTP" }
hosts = ["*"]
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
direct_response = { status = 200 }
)",
                        {{"PORT", std::to_string(port)}}));
  CommandResult run = RunCommand({GatehouseBin(), "run", "-c", path}, milliseconds(10000));
  ::close(fd);
  EXPECT_EQ(run.exit_code, 1) << run.Describe();
  EXPECT_NE(run.err.find("127.0.0.1_" + std::to_string(port)), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("Address already in use"), std::string::npos) << run.err;
}

}  // namespace
}  // namespace gh::test
