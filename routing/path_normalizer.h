// The one path normaliser, used before routing and (later) authorization:
// RFC 3986 dot-segment removal, percent-decoding of unreserved characters
// only, merging of slashes, and a configurable action for escaped slashes
// (%2F, %5C). The query string is kept byte for byte. Pure.
#pragma once

#include <string>
#include <string_view>

#include "routing/model.h"

namespace gh::routing {

struct NormalizedPath {
  enum class Verdict : uint8_t {
    kOk,        // forward `path`
    kRedirect,  // answer 307 with Location `path` (escaped slashes were unescaped)
    kReject,    // answer 400; `reason` says why
  };
  Verdict verdict = Verdict::kOk;
  std::string path;  // normalised path + "?" + original query, when not rejected
  std::string reason;
};

// `path` is the request-target in origin form ("/a/b?q"); "*" passes
// unchanged. Invalid percent-encoding and paths not starting with '/' are
// rejected. A fragment ("#...") is dropped.
NormalizedPath NormalizePath(std::string_view path, const PathNormalization& options);

}  // namespace gh::routing
