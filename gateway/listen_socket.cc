#include "gateway/listen_socket.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "gateway/connection.h"

namespace gh::gateway {
namespace {

constexpr int kBacklog = 4096;

Result<int> OpenOne(const sockaddr_storage& address) {
  const int fd = ::socket(address.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(std::string("socket: ") + std::strerror(errno));
  const int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  if (address.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  const socklen_t len = address.ss_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&address), len) != 0) {
    const int err = errno;
    ::close(fd);
    return MakeError(std::string("bind: ") + std::strerror(err));
  }
  if (::listen(fd, kBacklog) != 0) {
    const int err = errno;
    ::close(fd);
    return MakeError(std::string("listen: ") + std::strerror(err));
  }
  return fd;
}

}  // namespace

Result<ListenSockets> OpenListenSockets(const std::string& bind, uint16_t port, uint32_t count) {
  sockaddr_storage address;
  if (!ParseAddress(bind, port, &address)) {
    return MakeError("invalid bind address '" + bind + "'");
  }
  ListenSockets sockets;
  for (uint32_t i = 0; i < count; ++i) {
    Result<int> fd = OpenOne(address);
    if (!fd.ok()) {
      CloseAll(sockets);
      return MakeError(bind + ":" + std::to_string(port) + ": " + fd.error().message);
    }
    sockets.fds.push_back(*fd);
    if (i == 0) {
      sockaddr_storage bound;
      socklen_t len = sizeof bound;
      ::getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &len);
      const uint16_t actual = bound.ss_family == AF_INET6
                                  ? ntohs(reinterpret_cast<const sockaddr_in6&>(bound).sin6_port)
                                  : ntohs(reinterpret_cast<const sockaddr_in&>(bound).sin_port);
      sockets.port = actual;
      // The rest must join the same port.
      if (address.ss_family == AF_INET6) {
        reinterpret_cast<sockaddr_in6&>(address).sin6_port = htons(actual);
      } else {
        reinterpret_cast<sockaddr_in&>(address).sin_port = htons(actual);
      }
    }
  }
  return sockets;
}

void CloseAll(ListenSockets& sockets) {
  for (int fd : sockets.fds)
    ::close(fd);
  sockets.fds.clear();
}

}  // namespace gh::gateway
