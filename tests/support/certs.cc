#include "tests/support/certs.h"

#include <atomic>
#include <random>

#include "tests/support/process.h"

namespace gh::test {
namespace {

std::vector<std::string> NewKeyArgs(KeyType key) {
  if (key == KeyType::kRsa2048) return {"-newkey", "rsa:2048"};
  return {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"};
}

std::string UniqueStem(const std::string& dir, const std::string& hint) {
  static std::atomic<int> counter{0};
  std::string clean;
  for (char c : hint)
    clean += (isalnum(static_cast<unsigned char>(c)) ? c : '_');
  if (clean.size() > 40) clean.resize(40);
  return dir + "/" + std::to_string(counter++) + "-" + clean;
}

std::string RandomSerial() {
  std::random_device rd;
  std::mt19937_64 rng((uint64_t{rd()} << 32) | rd());
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%016llx",
                static_cast<unsigned long long>(rng() & 0x7fffffffffffffffULL));
  return buf;
}

void Run(const std::vector<std::string>& argv) {
  auto r = RunCommand(argv, milliseconds(30000));
  if (r.exit_code != 0) throw HarnessError("openssl failed: " + r.Describe());
}

// Writes a CSR + key with `stem`, then signs it with the issuer (or self).
CertFiles Issue(const std::string& stem, const std::string& common_name, KeyType key, int days,
                const std::string& extensions, const CertFiles* issuer) {
  std::string cnf = stem + ".cnf";
  WriteFile(cnf, "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = " + common_name + "\n" +
                     extensions);
  CertFiles out;
  out.cert = stem + ".crt";
  out.key = stem + ".key";
  if (issuer == nullptr) {
    std::vector<std::string> argv = {"openssl", "req", "-x509", "-new", "-nodes"};
    auto k = NewKeyArgs(key);
    argv.insert(argv.end(), k.begin(), k.end());
    argv.insert(argv.end(), {"-keyout", out.key, "-out", out.cert, "-days", std::to_string(days),
                             "-config", cnf, "-extensions", "ext", "-set_serial", RandomSerial()});
    Run(argv);
    return out;
  }
  std::string csr = stem + ".csr";
  std::vector<std::string> argv = {"openssl", "req", "-new", "-nodes"};
  auto k = NewKeyArgs(key);
  argv.insert(argv.end(), k.begin(), k.end());
  argv.insert(argv.end(), {"-keyout", out.key, "-out", csr, "-config", cnf});
  Run(argv);
  Run({"openssl", "x509", "-req", "-in", csr, "-CA", issuer->cert, "-CAkey", issuer->key,
       "-set_serial", RandomSerial(), "-days", std::to_string(days), "-extfile", cnf, "-extensions",
       "ext", "-out", out.cert});
  return out;
}

}  // namespace

CertFiles MakeCa(const std::string& dir, const std::string& common_name, KeyType key, int days) {
  std::string stem = UniqueStem(dir, common_name);
  CertFiles ca = Issue(stem, common_name, key, days,
                       "[ext]\nbasicConstraints = critical,CA:TRUE\n"
                       "keyUsage = critical,keyCertSign,cRLSign\n"
                       "subjectKeyIdentifier = hash\n",
                       nullptr);
  ca.dir = dir;
  ca.chain = stem + ".chain.pem";
  WriteFile(ca.chain, "");
  return ca;
}

CertFiles MakeIntermediateCa(const CertFiles& parent, const std::string& common_name, KeyType key,
                             int days) {
  std::string stem = UniqueStem(parent.dir, common_name);
  CertFiles ca = Issue(stem, common_name, key, days,
                       "[ext]\nbasicConstraints = critical,CA:TRUE\n"
                       "keyUsage = critical,keyCertSign,cRLSign\n"
                       "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n",
                       &parent);
  ca.dir = parent.dir;
  ca.chain = stem + ".chain.pem";
  WriteFile(ca.chain, ReadFile(ca.cert) + ReadFile(parent.chain));
  return ca;
}

CertFiles MakeLeafWith(const CertFiles& ca, const LeafOptions& o) {
  std::string cn = o.common_name;
  if (cn.empty()) cn = o.dns.empty() ? "leaf" : o.dns.front();
  std::string ext = "[ext]\nbasicConstraints = critical,CA:FALSE\n";
  ext += o.key == KeyType::kRsa2048 ? "keyUsage = critical,digitalSignature,keyEncipherment\n"
                                    : "keyUsage = critical,digitalSignature\n";
  std::string eku;
  if (o.server_auth) eku += "serverAuth";
  if (o.client_auth) eku += eku.empty() ? "clientAuth" : ",clientAuth";
  if (!eku.empty()) ext += "extendedKeyUsage = " + eku + "\n";
  ext += "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n";
  if (!o.dns.empty() || !o.uris.empty() || !o.ips.empty()) {
    ext += "subjectAltName = @alt\n[alt]\n";
    for (size_t i = 0; i < o.dns.size(); ++i)
      ext += "DNS." + std::to_string(i + 1) + " = " + o.dns[i] + "\n";
    for (size_t i = 0; i < o.uris.size(); ++i)
      ext += "URI." + std::to_string(i + 1) + " = " + o.uris[i] + "\n";
    for (size_t i = 0; i < o.ips.size(); ++i)
      ext += "IP." + std::to_string(i + 1) + " = " + o.ips[i] + "\n";
  }
  std::string stem = UniqueStem(ca.dir, cn);
  CertFiles leaf = Issue(stem, cn, o.key, o.days, ext, &ca);
  leaf.dir = ca.dir;
  leaf.chain = stem + ".chain.pem";
  WriteFile(leaf.chain, ReadFile(leaf.cert) + ReadFile(ca.chain));
  return leaf;
}

CertFiles MakeLeaf(const CertFiles& ca, const std::vector<std::string>& dns_sans,
                   const std::vector<std::string>& uri_sans, KeyType key) {
  LeafOptions o;
  o.dns = dns_sans;
  o.uris = uri_sans;
  o.key = key;
  return MakeLeafWith(ca, o);
}

}  // namespace gh::test
