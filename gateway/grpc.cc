#include "gateway/grpc.h"

#include "base/strings.h"

namespace gh::gateway {

bool IsGrpcContentType(std::string_view content_type) {
  constexpr std::string_view kPrefix = "application/grpc";
  if (!AsciiIStartsWith(content_type, kPrefix)) return false;
  if (content_type.size() == kPrefix.size()) return true;
  const char next = content_type[kPrefix.size()];
  return next == '+' || next == ';';
}

std::optional<uint64_t> ParseGrpcTimeoutMs(std::string_view value) {
  if (value.size() < 2 || value.size() > 9) return std::nullopt;
  const char unit = value.back();
  const std::string_view digits = value.substr(0, value.size() - 1);
  uint64_t n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  auto ceil_div = [](uint64_t a, uint64_t b) { return a / b + (a % b != 0 ? 1 : 0); };
  switch (unit) {
    case 'H':
      return n * 3600 * 1000;
    case 'M':
      return n * 60 * 1000;
    case 'S':
      return n * 1000;
    case 'm':
      return n;
    case 'u':
      return ceil_div(n, 1000);
    case 'n':
      return ceil_div(n, 1000 * 1000);
    default:
      return std::nullopt;
  }
}

GrpcStatus GrpcStatusForLocalReply(int http_status, std::string_view response_flags) {
  for (std::string_view flag : SplitList(response_flags)) {
    if (flag == "UT") return GrpcStatus::kDeadlineExceeded;
  }
  switch (http_status) {
    case 400:
      return GrpcStatus::kInternal;
    case 401:
      return GrpcStatus::kUnauthenticated;
    case 403:
      return GrpcStatus::kPermissionDenied;
    case 404:
      return GrpcStatus::kUnimplemented;
    case 429:
    case 502:
    case 503:
      return GrpcStatus::kUnavailable;
    case 504:
      return GrpcStatus::kDeadlineExceeded;
    default:
      return GrpcStatus::kUnknown;
  }
}

std::string GrpcPercentEncode(std::string_view message) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(message.size());
  for (char ch : message) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c <= 0x7E && c != '%') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
  return out;
}

}  // namespace gh::gateway
