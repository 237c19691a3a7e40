// `gatehouse ca init|issue`: the CA library on the command line. This is the
// one place in tls/ that touches the filesystem, because it is a command.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <map>
#include <ostream>
#include <string>
#include <tuple>
#include <vector>

#include "base/strings.h"
#include "tls/ca.h"

namespace gh::tls {
namespace {

constexpr const char* kUsage =
    "usage:\n"
    "  gatehouse ca init  --trust-domain DOMAIN --out DIR\n"
    "  gatehouse ca issue --ca-dir DIR --spiffe spiffe://DOMAIN/ns/NS/sa/SA\n"
    "                     [--csr FILE] [--ttl 24h] --out DIR\n";

struct Flags {
  std::map<std::string, std::string> values;
  std::string error;
};

Flags ParseFlags(const std::vector<std::string>& args, const std::vector<std::string>& known) {
  Flags flags;
  for (size_t i = 0; i < args.size(); ++i) {
    std::string arg = args[i];
    if (arg.rfind("--", 0) != 0) {
      flags.error = "unexpected argument \"" + arg + "\"";
      return flags;
    }
    std::string name = arg.substr(2), value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (i + 1 < args.size()) {
      value = args[++i];
    } else {
      flags.error = "flag --" + name + " needs a value";
      return flags;
    }
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      flags.error = "unknown flag --" + name;
      return flags;
    }
    if (flags.values.count(name)) {
      flags.error = "flag --" + name + " given twice";
      return flags;
    }
    flags.values[name] = value;
  }
  return flags;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

Status EnsureDir(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0700) == 0) return Status::Ok();
  if (errno == EEXIST) {
    struct stat st;
    if (::stat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
    return MakeError(dir + " exists and is not a directory");
  }
  return MakeError(dir + ": " + std::strerror(errno));
}

Status WriteAll(int fd, const std::string& path, std::string_view data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return MakeError(path + ": " + std::strerror(errno));
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  if (::fsync(fd) != 0) return MakeError(path + ": " + std::strerror(errno));
  return Status::Ok();
}

// Creates `path` that must not exist yet, with `mode`.
Status WriteNew(const std::string& path, std::string_view data, mode_t mode) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
  if (fd < 0) return MakeError(path + ": " + std::strerror(errno));
  Status s = WriteAll(fd, path, data);
  ::close(fd);
  if (!s.ok()) ::unlink(path.c_str());
  return s;
}

// Replaces `path` atomically (temporary file + rename), with `mode`, so a
// watcher never sees a half-written certificate or key.
Status WriteReplace(const std::string& path, std::string_view data, mode_t mode) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  if (Status s = WriteNew(tmp, data, mode); !s.ok()) return s;
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string reason = std::strerror(errno);
    ::unlink(tmp.c_str());
    return MakeError(path + ": " + reason);
  }
  return Status::Ok();
}

std::string FormatTime(UnixSeconds t) {
  const std::time_t secs = t.time_since_epoch().count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

int Init(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags = ParseFlags(args, {"trust-domain", "out"});
  if (flags.error.empty() && (!flags.values.count("trust-domain") || !flags.values.count("out")))
    flags.error = "ca init needs --trust-domain and --out";
  if (!flags.error.empty()) {
    err << "gatehouse ca init: " << flags.error << "\n" << kUsage;
    return 2;
  }
  const std::string td = flags.values["trust-domain"], dir = flags.values["out"];
  if (!IsValidTrustDomain(td)) {
    err << "gatehouse ca init: invalid trust domain \"" << td
        << "\" (lowercase letters, digits, '.', '-', '_')\n";
    return 2;
  }
  const std::string cert_path = dir + "/root-cert.pem", key_path = dir + "/root-key.pem";
  for (const auto& p : {cert_path, key_path}) {
    if (Exists(p)) {
      err << "gatehouse ca init: " << p << " already exists; refusing to overwrite\n";
      return 1;
    }
  }
  if (Status s = EnsureDir(dir); !s.ok()) {
    err << "gatehouse ca init: " << s.error().message << "\n";
    return 1;
  }
  auto root = CreateRootCa(RootOptions{.trust_domain = td}, NowSeconds());
  if (!root.ok()) {
    err << "gatehouse ca init: " << root.error().message << "\n";
    return 1;
  }
  // The key first: if it cannot be written, no certificate claims a CA exists.
  if (Status s = WriteNew(key_path, (*root)->KeyPem(), 0600); !s.ok()) {
    err << "gatehouse ca init: " << s.error().message << "\n";
    return 1;
  }
  if (Status s = WriteNew(cert_path, (*root)->ChainPem(), 0644); !s.ok()) {
    ::unlink(key_path.c_str());
    err << "gatehouse ca init: " << s.error().message << "\n";
    return 1;
  }
  const CertInfo& info = (*root)->info();
  out << "created root CA for trust domain " << td << "\n"
      << "  " << cert_path << "  subject " << info.subject << ", serial " << info.serial_hex
      << ", valid until " << FormatTime(info.not_after) << "\n"
      << "  " << key_path << "  (mode 0600)\n";
  return 0;
}

int Issue(const std::vector<std::string>& args, std::ostream& out, std::ostream& err) {
  Flags flags = ParseFlags(args, {"ca-dir", "spiffe", "csr", "ttl", "out"});
  if (flags.error.empty() && (!flags.values.count("ca-dir") || !flags.values.count("spiffe") ||
                              !flags.values.count("out")))
    flags.error = "ca issue needs --ca-dir, --spiffe and --out";
  if (!flags.error.empty()) {
    err << "gatehouse ca issue: " << flags.error << "\n" << kUsage;
    return 2;
  }
  auto id = ParseSpiffeId(flags.values["spiffe"]);
  if (!id.ok()) {
    err << "gatehouse ca issue: " << id.error().message << "\n";
    return 2;
  }
  SvidRequest request;
  if (flags.values.count("ttl")) {
    auto ttl = ParseDuration(flags.values["ttl"]);
    if (!ttl || *ttl < std::chrono::seconds(1)) {
      err << "gatehouse ca issue: invalid --ttl \"" << flags.values["ttl"]
          << "\" (e.g. 24h, 90m; at least 1s)\n";
      return 2;
    }
    request.ttl = std::chrono::duration_cast<std::chrono::seconds>(*ttl);
  }
  FileReader read = DiskFileReader();
  if (flags.values.count("csr")) {
    auto csr = read(flags.values["csr"]);
    if (!csr.ok()) {
      err << "gatehouse ca issue: " << csr.error().message << "\n";
      return 1;
    }
    request.csr_pem = std::move(*csr);
  }
  const std::string ca_dir = flags.values["ca-dir"], dir = flags.values["out"];
  auto ca_cert = read(ca_dir + "/root-cert.pem");
  auto ca_key =
      ca_cert.ok() ? read(ca_dir + "/root-key.pem") : Result<std::string>(ca_cert.error());
  if (!ca_cert.ok() || !ca_key.ok()) {
    err << "gatehouse ca issue: " << (!ca_cert.ok() ? ca_cert : ca_key).error().message << "\n";
    return 1;
  }
  auto ca = CertifiedKey::FromPem(*ca_cert, *ca_key, ca_dir + "/root-cert.pem");
  if (!ca.ok()) {
    err << "gatehouse ca issue: CA in " << ca_dir << ": " << ca.error().message << "\n";
    return 1;
  }
  auto svid = IssueSvid(**ca, *id, request, NowSeconds());
  if (!svid.ok()) {
    err << "gatehouse ca issue: " << svid.error().message << "\n";
    return 1;
  }
  if (Status s = EnsureDir(dir); !s.ok()) {
    err << "gatehouse ca issue: " << s.error().message << "\n";
    return 1;
  }
  std::vector<std::tuple<std::string, const std::string*, mode_t>> files = {
      {dir + "/cert-chain.pem", &svid->cert_chain_pem, 0644},
      {dir + "/root-cert.pem", &svid->root_cert_pem, 0644},
  };
  // The key goes first so the pair on disk never has a new certificate with
  // an old key for longer than necessary.
  if (!svid->key_pem.empty()) files.insert(files.begin(), {dir + "/key.pem", &svid->key_pem, 0600});
  for (const auto& [path, data, mode] : files) {
    if (Status s = WriteReplace(path, *data, mode); !s.ok()) {
      err << "gatehouse ca issue: " << s.error().message << "\n";
      return 1;
    }
  }
  out << "issued " << svid->info.spiffe_id << "\n"
      << "  serial " << svid->info.serial_hex << ", valid " << FormatTime(svid->info.not_before)
      << " .. " << FormatTime(svid->info.not_after) << "\n";
  for (const auto& [path, data, mode] : files)
    out << "  wrote " << path << "\n";
  if (svid->key_pem.empty()) out << "  (key from the CSR; no key.pem written)\n";
  return 0;
}

}  // namespace

int RunCaCommand(int argc, char** argv, std::ostream& out, std::ostream& err) {
  std::vector<std::string> args(argv, argv + argc);
  if (!args.empty() && args.front() == "ca") args.erase(args.begin());
  if (args.empty() || args.front() == "--help" || args.front() == "-h" || args.front() == "help") {
    (args.empty() ? err : out) << kUsage;
    return args.empty() ? 2 : 0;
  }
  const std::string sub = args.front();
  args.erase(args.begin());
  if (sub == "init") return Init(args, out, err);
  if (sub == "issue") return Issue(args, out, err);
  err << "gatehouse ca: unknown command \"" << sub << "\"\n" << kUsage;
  return 2;
}

}  // namespace gh::tls
