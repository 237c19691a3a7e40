#include "gateway/dns_resolver.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <algorithm>
#include <mutex>

#include "gateway/dispatcher.h"

namespace gh::gateway {

struct DnsResolver::Query {
  DnsResolver* resolver;
  Callback done;
};

namespace {

// A bound on a dead or unreachable name server: the last good answer stays
// in use meanwhile, so a slow failure only delays the next attempt.
constexpr int kTimeoutMs = 2000;
constexpr int kTries = 2;

int Family(routing::DnsLookupFamily family) {
  switch (family) {
    case routing::DnsLookupFamily::kV4Only:
      return AF_INET;
    case routing::DnsLookupFamily::kV6Only:
      return AF_INET6;
    case routing::DnsLookupFamily::kAll:
      break;
  }
  return AF_UNSPEC;
}

std::string IpString(const sockaddr* address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address->sa_family == AF_INET) {
    inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(address)->sin_addr, text,
              sizeof(text));
  } else if (address->sa_family == AF_INET6) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(address)->sin6_addr, text,
              sizeof(text));
  }
  return text;
}

}  // namespace

DnsResolver::DnsResolver(Dispatcher& dispatcher)
    : dispatcher_(dispatcher), timeout_(dispatcher.timers(), [this] {
        ares_process_fd(channel_, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
        ArmTimeout();
      }) {}

DnsResolver::~DnsResolver() {
  closing_ = true;
  timeout_.Cancel();
  // Runs the outstanding callbacks (ARES_EDESTRUCTION; ignored while
  // closing) and reports every socket closed.
  if (channel_ != nullptr) ares_destroy(channel_);
  for (auto& [fd, poll] : polls_) {
    uv_poll_stop(poll);
    uv_close(reinterpret_cast<uv_handle_t*>(poll),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  }
  polls_.clear();
}

Status DnsResolver::Init() {
  static std::once_flag library;
  static int library_status = ARES_SUCCESS;
  std::call_once(library, [] { library_status = ares_library_init(ARES_LIB_INIT_ALL); });
  if (library_status != ARES_SUCCESS)
    return MakeError(std::string("c-ares: ") + ares_strerror(library_status));
  ares_options options{};
  options.sock_state_cb = &DnsResolver::OnSocketState;
  options.sock_state_cb_data = this;
  options.timeout = kTimeoutMs;
  options.tries = kTries;
  const int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
  const int status = ares_init_options(&channel_, &options, mask);
  if (status != ARES_SUCCESS) {
    channel_ = nullptr;
    return MakeError(std::string("c-ares: ") + ares_strerror(status));
  }
  return Status::Ok();
}

void DnsResolver::Resolve(const std::string& name, routing::DnsLookupFamily family, Callback done) {
  if (channel_ == nullptr) {
    done(DnsAnswer{.error = "resolver not initialised"});
    return;
  }
  ares_addrinfo_hints hints{};
  hints.ai_family = Family(family);
  hints.ai_socktype = SOCK_STREAM;  // one entry per address, not per socket type
  auto* query = new Query{this, std::move(done)};
  ares_getaddrinfo(channel_, name.c_str(), nullptr, &hints, &DnsResolver::OnAddrInfo, query);
  ArmTimeout();
}

void DnsResolver::OnAddrInfo(void* arg, int status, int, ares_addrinfo* result) {
  std::unique_ptr<Query> query(static_cast<Query*>(arg));
  DnsAnswer answer;
  if (status == ARES_SUCCESS && result != nullptr) {
    uint32_t ttl = 0;
    for (const ares_addrinfo_node* node = result->nodes; node != nullptr; node = node->ai_next) {
      std::string ip = IpString(node->ai_addr);
      if (ip.empty() ||
          std::find(answer.addresses.begin(), answer.addresses.end(), ip) != answer.addresses.end())
        continue;
      answer.addresses.push_back(std::move(ip));
      if (node->ai_ttl > 0 && (ttl == 0 || static_cast<uint32_t>(node->ai_ttl) < ttl))
        ttl = static_cast<uint32_t>(node->ai_ttl);
    }
    answer.ttl_seconds = ttl;
    answer.ok = !answer.addresses.empty();
    if (!answer.ok) answer.error = "no addresses";
  } else {
    answer.error = ares_strerror(status);
  }
  if (result != nullptr) ares_freeaddrinfo(result);
  if (query->resolver->closing_) return;
  query->done(std::move(answer));
}

void DnsResolver::OnSocketState(void* data, ares_socket_t fd, int readable, int writable) {
  static_cast<DnsResolver*>(data)->WatchSocket(fd, readable != 0, writable != 0);
}

void DnsResolver::WatchSocket(ares_socket_t fd, bool readable, bool writable) {
  auto it = polls_.find(fd);
  if (!readable && !writable) {
    // c-ares closes the socket after this: libuv must let go of it first.
    if (it == polls_.end()) return;
    uv_poll_stop(it->second);
    uv_close(reinterpret_cast<uv_handle_t*>(it->second),
             [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
    polls_.erase(it);
    return;
  }
  if (closing_) return;
  if (it == polls_.end()) {
    auto* poll = new uv_poll_t;
    if (uv_poll_init_socket(dispatcher_.loop(), poll, fd) != 0) {
      delete poll;
      return;  // the query times out through the timer
    }
    poll->data = this;
    it = polls_.emplace(fd, poll).first;
  }
  const int events = (readable ? UV_READABLE : 0) | (writable ? UV_WRITABLE : 0);
  uv_poll_start(it->second, events, &DnsResolver::OnPoll);
}

void DnsResolver::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<DnsResolver*>(handle->data);
  uv_os_fd_t fd = -1;
  if (uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd) != 0) return;
  // An error on the socket: let c-ares read it and fail over.
  const bool read = status < 0 || (events & UV_READABLE) != 0;
  const bool write = status >= 0 && (events & UV_WRITABLE) != 0;
  ares_process_fd(self->channel_, read ? fd : ARES_SOCKET_BAD, write ? fd : ARES_SOCKET_BAD);
  self->ArmTimeout();
}

void DnsResolver::ArmTimeout() {
  if (closing_ || channel_ == nullptr) return;
  timeval max{};
  max.tv_sec = 1;  // c-ares wants a cap; a second is shorter than any retry
  timeval tv{};
  const timeval* next = ares_timeout(channel_, &max, &tv);
  if (polls_.empty()) {
    // No socket open: nothing to time out.
    timeout_.Cancel();
    return;
  }
  const uint64_t ms =
      static_cast<uint64_t>(next->tv_sec) * 1000 + static_cast<uint64_t>(next->tv_usec) / 1000;
  timeout_.Arm(std::max<uint64_t>(ms, 1));
}

}  // namespace gh::gateway
