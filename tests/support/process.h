// Child processes, temp dirs, files and command runners for integration tests.
//
// Setup failures (cannot spawn, cannot create a dir) throw HarnessError:
// GoogleTest reports the message as the test's failure. Outcomes a test wants
// to assert on (exit codes, output, timeouts) are returned as values.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace gh::test {

using std::chrono::milliseconds;

class HarnessError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// RAII temporary directory under $TMPDIR (or /tmp), removed recursively on
// destruction unless GH_KEEP_TMP=1 is set (then its path is printed).
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // path()/name
  std::string File(std::string_view name) const;

 private:
  std::string path_;
};

// Writes (truncates) a file; throws HarnessError on failure.
void WriteFile(const std::string& path, std::string_view content);
// Whole file, or "" when it does not exist.
std::string ReadFile(const std::string& path);

// Environment helpers. GatehouseBin(): $GATEHOUSE_BIN, UpstreamPy(): $UPSTREAM_PY,
// each else the path of this build compiled into the harness (so the test
// binary also runs by hand). Python(): $GH_PYTHON or /usr/bin/python3.
std::string EnvOr(const char* name, std::string_view fallback);
std::string GatehouseBin();
std::string UpstreamPy();
std::string Python();

// Raw wait status helpers ("exited 0", "killed by signal 9", ...).
bool ExitedWith(int wait_status, int code);
std::string DescribeWaitStatus(int wait_status);

struct ProcessOptions {
  // "NAME=VALUE" entries added to (or replacing in) the inherited environment.
  std::vector<std::string> env;
  // Bytes fed to the child's stdin (from a file); empty: stdin is /dev/null.
  std::string stdin_data;
  // Where stdout/stderr files go; empty: a fresh TempDir owned by the Process.
  std::string output_dir;
};

// A child started with posix_spawnp. stdout and stderr go to files (readable at
// any time, also after exit). The child stays in the test's process group, so
// a test runner killing the group on timeout takes it too; the harness also
// SIGKILLs live children if the test process gets SIGTERM/SIGINT/SIGHUP.
// Signals only ever go to this child's own PID, and never after it was reaped.
class Process {
 public:
  static Process Spawn(std::vector<std::string> argv, ProcessOptions options = {});

  Process() = default;
  Process(Process&& other) noexcept;
  Process& operator=(Process&& other) noexcept;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  // Terminates a still-running child: SIGTERM, 5 s grace, then SIGKILL.
  ~Process();

  pid_t Pid() const { return pid_; }
  const std::vector<std::string>& Argv() const { return argv_; }
  // True until the child has exited (reaps it when it has).
  bool Running();
  // Sends sig to the child's PID; false if it has already exited.
  bool Signal(int sig);
  // Waits up to timeout for the child to exit; returns the raw wait status
  // (use WIFEXITED/WEXITSTATUS, ExitedWith, DescribeWaitStatus).
  std::optional<int> WaitExit(milliseconds timeout);
  // SIGKILL and reap. Returns the wait status.
  int Kill();
  // SIGTERM, wait up to grace, then SIGKILL. Returns the wait status.
  int Terminate(milliseconds grace = milliseconds(5000));
  // Status once exited (after Running()/WaitExit() observed it).
  std::optional<int> ExitStatus() const { return status_; }

  std::string ReadStdout() const;
  std::string ReadStderr() const;
  const std::string& StdoutPath() const { return stdout_path_; }
  const std::string& StderrPath() const { return stderr_path_; }
  // Polls stdout/stderr until it contains needle; false on timeout or exit
  // without it.
  bool WaitForStdout(std::string_view needle, milliseconds timeout);
  bool WaitForStderr(std::string_view needle, milliseconds timeout);

  // Resident set size in bytes from /proc/<pid>/status (VmRSS), -1 if gone.
  int64_t Rss() const;

 private:
  bool WaitForOutput(const std::string& path, std::string_view needle, milliseconds timeout);
  void Release();

  pid_t pid_ = -1;
  std::optional<int> status_;
  std::vector<std::string> argv_;
  std::optional<TempDir> own_dir_;
  std::string stdout_path_;
  std::string stderr_path_;
};

// VmRSS of any PID in bytes, -1 if unreadable.
int64_t RssOfPid(pid_t pid);

struct CommandResult {
  int exit_code = -1;      // -1 when killed by a signal or timed out
  int term_signal = 0;     // signal number when killed by one
  bool timed_out = false;  // killed by RunCommand after the timeout
  std::string out;         // stdout
  std::string err;         // stderr
  // One line for failure messages: argv, status, the start of stderr.
  std::string Describe() const;
  std::vector<std::string> argv;
};

// Runs argv[0] (PATH lookup) to completion, bounded by timeout (then SIGKILL).
CommandResult RunCommand(const std::vector<std::string>& argv,
                         milliseconds timeout = milliseconds(30000), ProcessOptions options = {});

struct CurlResult {
  int exit_code = -1;        // curl's exit code (0 ok, 7 refused, 28 timeout, 52 empty, 56 recv...)
  int status = 0;            // HTTP status of the last response (%{http_code}), 0 if none
  std::string http_version;  // %{http_version}: "1.1", "2", ...
  std::string body;
  // Headers of the final response (after any 1xx), names as sent.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string err;  // curl's stderr
  std::optional<std::string> Header(std::string_view name) const;
  std::string Describe() const;
};

// curl -sS --max-time <timeout> -o <body> -D <headers> -w '%{http_code} %{http_version}'
// <args...>. Use for ONE URL; for several URLs on one connection use RunCommand.
CurlResult Curl(const std::vector<std::string>& args, milliseconds timeout = milliseconds(30000));

// Replaces every ${NAME} in text with vars[NAME]; throws on an unknown name.
std::string Subst(std::string_view text,
                  const std::vector<std::pair<std::string, std::string>>& vars);

}  // namespace gh::test
