// /certs: every certificate file the config refers to, read and parsed, and
// its JSON rendering.
#include <set>

#include "admin/api.h"

namespace gh::admin {

using nlohmann::json;

json CertificatesJson(const std::vector<CertificateEntry>& entries, tls::UnixSeconds now) {
  json out = json::array();
  for (const CertificateEntry& e : entries) {
    json ej = {{"path", e.path}, {"role", e.role}, {"used_by", e.used_by}};
    if (!e.error.empty()) {
      ej["error"] = e.error;
      out.push_back(std::move(ej));
      continue;
    }
    json chain = json::array();
    for (const tls::CertInfo& c : e.chain) {
      const int64_t seconds = c.SecondsToExpiry(now);
      chain.push_back({{"subject", c.subject},
                       {"issuer", c.issuer},
                       {"serial_number", c.serial_hex},
                       {"dns_sans", c.dns_sans},
                       {"uri_sans", c.uri_sans},
                       {"ip_sans", c.ip_sans},
                       {"spiffe_id", c.spiffe_id},
                       {"not_before", c.not_before.time_since_epoch().count()},
                       {"expiration_time", c.not_after.time_since_epoch().count()},
                       {"seconds_until_expiration", seconds},
                       {"days_until_expiration", seconds / 86400},
                       {"key_type", c.key_type},
                       {"is_ca", c.is_ca},
                       {"sha256", c.sha256_hex}});
    }
    ej["chain"] = std::move(chain);
    out.push_back(std::move(ej));
  }
  return json{{"certificates", std::move(out)}};
}

std::vector<CertificateEntry> CertificateReferences(const routing::Config& config) {
  std::vector<CertificateEntry> out;
  std::set<std::pair<std::string, std::string>> seen;  // (path, used_by)
  auto add = [&](const std::string& path, const char* role, const std::string& used_by) {
    if (path.empty() || !seen.insert({path, used_by}).second) return;
    CertificateEntry e;
    e.path = path;
    e.role = role;
    e.used_by = used_by;
    out.push_back(std::move(e));
  };
  for (const routing::Listener& l : config.listeners) {
    for (const routing::Server& s : l.servers) {
      if (!s.tls) continue;
      for (const routing::CertificateFiles& c : s.tls->certificates)
        add(c.certificate_chain, "server", l.name + " " + s.name);
      add(s.tls->ca_certificates, "ca", l.name + " " + s.name);
    }
  }
  for (const routing::Cluster& c : config.clusters) {
    add(c.tls.client_certificate, "client", c.name);
    add(c.tls.ca_certificates, "ca", c.name);
  }
  return out;
}

std::vector<CertificateEntry> ConfigCertificates(
    const routing::Config& config,
    const std::function<Result<std::string>(const std::string&)>& read) {
  std::vector<CertificateEntry> out = CertificateReferences(config);
  for (CertificateEntry& e : out) {
    Result<std::string> pem = read(e.path);
    if (!pem.ok()) {
      e.error = pem.error().message;
      continue;
    }
    Result<std::vector<tls::CertInfo>> chain = tls::ParsePemChainInfo(*pem);
    if (chain.ok()) {
      e.chain = std::move(*chain);
    } else {
      e.error = chain.error().message;
    }
  }
  return out;
}

}  // namespace gh::admin
