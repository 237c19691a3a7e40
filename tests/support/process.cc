#include "tests/support/process.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

extern char** environ;

#ifndef GH_UPSTREAM_PY_DEFAULT
#define GH_UPSTREAM_PY_DEFAULT ""
#endif
#ifndef GH_GATEHOUSE_BIN_DEFAULT
#define GH_GATEHOUSE_BIN_DEFAULT ""
#endif

namespace gh::test {
namespace {

using Clock = std::chrono::steady_clock;

// Live children, for the emergency signal handler (async-signal-safe reads).
constexpr int kMaxChildren = 512;
std::array<std::atomic<pid_t>, kMaxChildren> g_children{};

void KillChildrenAndReraise(int sig) {
  for (auto& slot : g_children) {
    pid_t p = slot.load();
    if (p > 0) kill(p, SIGKILL);
  }
  signal(sig, SIG_DFL);
  raise(sig);
}

void InstallHandlersOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    signal(SIGPIPE, SIG_IGN);
    // Test traffic is loopback only: never let a client go through a proxy
    // named in the environment.
    setenv("no_proxy", "*", 1);
    setenv("NO_PROXY", "*", 1);
    for (int sig : {SIGTERM, SIGINT, SIGHUP}) {
      struct sigaction sa {};
      sa.sa_handler = KillChildrenAndReraise;
      sigemptyset(&sa.sa_mask);
      sigaction(sig, &sa, nullptr);
    }
  });
}

void Register(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = 0;
    if (slot.compare_exchange_strong(expected, pid)) return;
  }
}

void Unregister(pid_t pid) {
  for (auto& slot : g_children) {
    pid_t expected = pid;
    if (slot.compare_exchange_strong(expected, 0)) return;
  }
}

std::string Errno(std::string_view what) {
  return std::string(what) + ": " + strerror(errno);
}

std::string TempRoot() {
  const char* t = getenv("TMPDIR");
  return (t && *t) ? t : "/tmp";
}

}  // namespace

// ---------------------------------------------------------------- TempDir

TempDir::TempDir() {
  std::string tmpl = TempRoot() + "/gh-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!mkdtemp(buf.data())) throw HarnessError(Errno("mkdtemp " + tmpl));
  path_ = buf.data();
}

TempDir::~TempDir() {
  if (path_.empty()) return;
  const char* keep = getenv("GH_KEEP_TMP");
  if (keep && std::string_view(keep) == "1") {
    std::fprintf(stderr, "[harness] keeping %s\n", path_.c_str());
    return;
  }
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) {
  other.path_.clear();
}

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    TempDir old(std::move(*this));
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

std::string TempDir::File(std::string_view name) const {
  return path_ + "/" + std::string(name);
}

// ---------------------------------------------------------------- files, env

void WriteFile(const std::string& path, std::string_view content) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) throw HarnessError("cannot write " + path);
  f.write(content.data(), static_cast<std::streamsize>(content.size()));
  if (!f) throw HarnessError("short write to " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string EnvOr(const char* name, std::string_view fallback) {
  const char* v = getenv(name);
  return (v && *v) ? std::string(v) : std::string(fallback);
}

std::string GatehouseBin() {
  std::string bin = EnvOr("GATEHOUSE_BIN", GH_GATEHOUSE_BIN_DEFAULT);
  if (bin.empty()) throw HarnessError("GATEHOUSE_BIN is not set (run through `meson test`)");
  return bin;
}

std::string UpstreamPy() {
  std::string py = EnvOr("UPSTREAM_PY", GH_UPSTREAM_PY_DEFAULT);
  if (py.empty()) throw HarnessError("UPSTREAM_PY is not set");
  return py;
}

std::string Python() {
  return EnvOr("GH_PYTHON", "/usr/bin/python3");
}

bool ExitedWith(int wait_status, int code) {
  return WIFEXITED(wait_status) && WEXITSTATUS(wait_status) == code;
}

std::string DescribeWaitStatus(int s) {
  if (WIFEXITED(s)) return "exited " + std::to_string(WEXITSTATUS(s));
  if (WIFSIGNALED(s)) {
    return "killed by signal " + std::to_string(WTERMSIG(s)) + " (" + strsignal(WTERMSIG(s)) + ")";
  }
  return "wait status " + std::to_string(s);
}

// ---------------------------------------------------------------- Process

Process Process::Spawn(std::vector<std::string> argv, ProcessOptions options) {
  InstallHandlersOnce();
  if (argv.empty()) throw HarnessError("Process::Spawn: empty argv");
  Process p;
  p.argv_ = argv;
  std::string dir = options.output_dir;
  if (dir.empty()) {
    p.own_dir_.emplace();
    dir = p.own_dir_->path();
  }
  // Unique names so several processes can share an output_dir.
  static std::atomic<int> counter{0};
  std::string stem = dir + "/proc" + std::to_string(counter++);
  p.stdout_path_ = stem + ".stdout";
  p.stderr_path_ = stem + ".stderr";
  std::string stdin_path = "/dev/null";
  if (!options.stdin_data.empty()) {
    stdin_path = stem + ".stdin";
    WriteFile(stdin_path, options.stdin_data);
  }

  // Environment: inherited, with overrides.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view entry(*e);
    bool overridden = false;
    for (const auto& o : options.env) {
      auto eq = o.find('=');
      if (eq != std::string::npos &&
          entry.substr(0, eq + 1) == std::string_view(o).substr(0, eq + 1)) {
        overridden = true;
      }
    }
    if (!overridden) env.emplace_back(entry);
  }
  for (const auto& o : options.env)
    env.push_back(o);

  std::vector<char*> cargv;
  for (auto& a : argv)
    cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::vector<char*> cenv;
  for (auto& e : env)
    cenv.push_back(e.data());
  cenv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, p.stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawn_file_actions_addopen(&fa, 2, p.stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // Children start with default signal dispositions (our SIGPIPE ignore and
  // emergency handlers must not leak into them).
  sigset_t all;
  sigfillset(&all);
  posix_spawnattr_setsigdefault(&attr, &all);
  sigset_t none;
  sigemptyset(&none);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);

  pid_t pid = -1;
  int rc = posix_spawnp(&pid, cargv[0], &fa, &attr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rc != 0) {
    throw HarnessError("posix_spawnp " + argv[0] + ": " + strerror(rc));
  }
  p.pid_ = pid;
  Register(pid);
  return p;
}

Process::Process(Process&& o) noexcept
    : pid_(o.pid_),
      status_(o.status_),
      argv_(std::move(o.argv_)),
      own_dir_(std::move(o.own_dir_)),
      stdout_path_(std::move(o.stdout_path_)),
      stderr_path_(std::move(o.stderr_path_)) {
  o.pid_ = -1;
  o.own_dir_.reset();
}

Process& Process::operator=(Process&& o) noexcept {
  if (this != &o) {
    Release();
    pid_ = o.pid_;
    status_ = o.status_;
    argv_ = std::move(o.argv_);
    own_dir_ = std::move(o.own_dir_);
    stdout_path_ = std::move(o.stdout_path_);
    stderr_path_ = std::move(o.stderr_path_);
    o.pid_ = -1;
    o.own_dir_.reset();
  }
  return *this;
}

Process::~Process() {
  Release();
}

void Process::Release() {
  if (pid_ > 0 && !status_) Terminate();
  pid_ = -1;
  own_dir_.reset();
}

bool Process::Running() {
  if (pid_ <= 0 || status_) return false;
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    Unregister(pid_);
    return false;
  }
  return r == 0;
}

bool Process::Signal(int sig) {
  if (!Running()) return false;
  return kill(pid_, sig) == 0;
}

std::optional<int> Process::WaitExit(milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  auto nap = milliseconds(1);
  while (true) {
    if (!Running()) return status_;
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(nap);
    if (nap < milliseconds(20)) nap *= 2;
  }
}

int Process::Kill() {
  if (Running()) {
    kill(pid_, SIGKILL);
    int st = 0;
    while (waitpid(pid_, &st, 0) < 0 && errno == EINTR) {
    }
    status_ = st;
    Unregister(pid_);
  }
  return status_.value_or(-1);
}

int Process::Terminate(milliseconds grace) {
  if (Signal(SIGTERM)) {
    if (auto st = WaitExit(grace)) return *st;
    std::fprintf(stderr, "[harness] pid %d (%s) ignored SIGTERM for %lld ms: SIGKILL\n",
                 static_cast<int>(pid_), argv_.empty() ? "?" : argv_[0].c_str(),
                 static_cast<long long>(grace.count()));
  }
  return Kill();
}

std::string Process::ReadStdout() const {
  return ReadFile(stdout_path_);
}
std::string Process::ReadStderr() const {
  return ReadFile(stderr_path_);
}

bool Process::WaitForOutput(const std::string& path, std::string_view needle,
                            milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (ReadFile(path).find(needle) != std::string::npos) return true;
    bool alive = Running();
    if (!alive) return ReadFile(path).find(needle) != std::string::npos;
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(5));
  }
}

bool Process::WaitForStdout(std::string_view needle, milliseconds timeout) {
  return WaitForOutput(stdout_path_, needle, timeout);
}
bool Process::WaitForStderr(std::string_view needle, milliseconds timeout) {
  return WaitForOutput(stderr_path_, needle, timeout);
}

int64_t Process::Rss() const {
  if (pid_ <= 0 || status_) return -1;
  return RssOfPid(pid_);
}

int64_t RssOfPid(pid_t pid) {
  std::string status = ReadFile("/proc/" + std::to_string(pid) + "/status");
  auto pos = status.find("VmRSS:");
  if (pos == std::string::npos) return -1;
  return std::strtoll(status.c_str() + pos + 6, nullptr, 10) * 1024;
}

// ---------------------------------------------------------------- commands

std::string CommandResult::Describe() const {
  std::string s;
  for (const auto& a : argv)
    s += (s.empty() ? "" : " ") + a;
  s += timed_out     ? " -> timed out"
       : term_signal ? " -> signal " + std::to_string(term_signal)
                     : " -> exit " + std::to_string(exit_code);
  if (!err.empty()) s += "; stderr: " + err.substr(0, 2000);
  return s;
}

CommandResult RunCommand(const std::vector<std::string>& argv, milliseconds timeout,
                         ProcessOptions options) {
  CommandResult r;
  r.argv = argv;
  Process p = Process::Spawn(argv, std::move(options));
  auto st = p.WaitExit(timeout);
  if (!st) {
    r.timed_out = true;
    st = p.Kill();
  }
  if (WIFEXITED(*st) && !r.timed_out) {
    r.exit_code = WEXITSTATUS(*st);
  } else if (WIFSIGNALED(*st)) {
    r.term_signal = WTERMSIG(*st);
  }
  r.out = p.ReadStdout();
  r.err = p.ReadStderr();
  return r;
}

std::optional<std::string> CurlResult::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() && strncasecmp(k.data(), name.data(), k.size()) == 0) return v;
  }
  return std::nullopt;
}

std::string CurlResult::Describe() const {
  return "curl exit " + std::to_string(exit_code) + ", HTTP " + std::to_string(status) + ", body " +
         std::to_string(body.size()) + " bytes: " + body.substr(0, 300) +
         (err.empty() ? "" : "; stderr: " + err.substr(0, 1000));
}

CurlResult Curl(const std::vector<std::string>& args, milliseconds timeout) {
  TempDir dir;
  std::string body_path = dir.File("body");
  std::string head_path = dir.File("headers");
  std::vector<std::string> argv = {"curl", "-sS", "--noproxy", "*"};
  argv.insert(argv.end(), {"--max-time", std::to_string(timeout.count() / 1000.0)});
  argv.insert(argv.end(), {"-o", body_path, "-D", head_path});
  argv.insert(argv.end(), {"-w", "%{http_code} %{http_version}"});
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions po;
  po.output_dir = dir.path();
  auto cr = RunCommand(argv, timeout + milliseconds(2000), po);
  CurlResult r;
  r.exit_code = cr.timed_out ? 28 : cr.exit_code;
  r.err = cr.err;
  std::istringstream w(cr.out);
  w >> r.status >> r.http_version;
  r.body = ReadFile(body_path);
  // The header file holds every response (1xx, redirects); keep the last block.
  std::string raw = ReadFile(head_path);
  std::istringstream hs(raw);
  std::string line;
  while (std::getline(hs, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.rfind("HTTP/", 0) == 0) {
      r.headers.clear();
      continue;
    }
    auto colon = line.find(':');
    if (line.empty() || colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    size_t b = value.find_first_not_of(" \t");
    value = b == std::string::npos ? "" : value.substr(b);
    r.headers.emplace_back(line.substr(0, colon), value);
  }
  return r;
}

std::string Subst(std::string_view text,
                  const std::vector<std::pair<std::string, std::string>>& vars) {
  std::string out;
  size_t i = 0;
  while (i < text.size()) {
    auto start = text.find("${", i);
    if (start == std::string_view::npos) {
      out.append(text.substr(i));
      break;
    }
    out.append(text.substr(i, start - i));
    auto end = text.find('}', start);
    if (end == std::string_view::npos) throw HarnessError("Subst: unterminated ${");
    std::string_view name = text.substr(start + 2, end - start - 2);
    bool found = false;
    for (const auto& [k, v] : vars) {
      if (k == name) {
        out += v;
        found = true;
        break;
      }
    }
    if (!found) throw HarnessError("Subst: no value for ${" + std::string(name) + "}");
    i = end + 1;
  }
  return out;
}

}  // namespace gh::test
