// Test certificates made at test time with the openssl CLI (no keys are
// committed). All files are PEM; certificates are valid for `days` (default 2).
#pragma once

#include <string>
#include <vector>

namespace gh::test {

enum class KeyType { kEcP256, kRsa2048 };

struct CertFiles {
  std::string cert;   // PEM certificate
  std::string key;    // PEM private key (PKCS#8, unencrypted)
  std::string dir;    // where they live (MakeLeaf writes its files here too)
  std::string chain;  // leaf (or intermediate) + issuing intermediates, without the root
};

// Self-signed root CA (CA:TRUE, keyCertSign).
CertFiles MakeCa(const std::string& dir, const std::string& common_name = "Gatehouse Test CA",
                 KeyType key = KeyType::kEcP256, int days = 2);
// An intermediate CA signed by `parent`; its `chain` is intermediate + parent's chain.
CertFiles MakeIntermediateCa(const CertFiles& parent, const std::string& common_name,
                             KeyType key = KeyType::kEcP256, int days = 2);

struct LeafOptions {
  std::string common_name;        // default: first DNS SAN, or "leaf"
  std::vector<std::string> dns;   // DNS SANs ("a.test", "*.wild.test")
  std::vector<std::string> uris;  // URI SANs ("spiffe://td/ns/x/sa/y")
  std::vector<std::string> ips;   // IP SANs ("127.0.0.1")
  KeyType key = KeyType::kEcP256;
  int days = 2;
  bool server_auth = true;  // extendedKeyUsage serverAuth
  bool client_auth = true;  // extendedKeyUsage clientAuth
};

// A leaf signed by `ca`, written into ca.dir with a unique file stem.
// `chain` = leaf + intermediates (what a server presents).
CertFiles MakeLeafWith(const CertFiles& ca, const LeafOptions& options);
CertFiles MakeLeaf(const CertFiles& ca, const std::vector<std::string>& dns_sans,
                   const std::vector<std::string>& uri_sans = {}, KeyType key = KeyType::kEcP256);

}  // namespace gh::test
