// HTTP/2 abuse accounting, pure (no nghttp2, no loop): a token bucket and a
// per-connection flood guard fed with inbound frame headers and a few
// session events. nghttp2 enforces its own limits too (rapid reset,
// CONTINUATION count, queued ACKs, SETTINGS entries); this guard names the
// violation so it can be counted, and covers what nghttp2 does not: PING and
// SETTINGS rates, empty-frame floods, PRIORITY and WINDOW_UPDATE floods, and
// streams the peer makes us reset ("made you reset").
#pragma once

#include <cstdint>
#include <string_view>

#include "routing/model.h"

namespace gh::gateway {

// Classic token bucket on a millisecond clock supplied by the caller.
class TokenBucket {
 public:
  TokenBucket(uint64_t burst, uint64_t rate_per_second);
  // Takes one token at `now_ms`; false when the bucket is empty.
  bool Consume(uint64_t now_ms);
  uint64_t tokens(uint64_t now_ms);

 private:
  void Refill(uint64_t now_ms);
  uint64_t capacity_milli_;
  uint64_t rate_;  // tokens per second == milli-tokens per millisecond
  uint64_t milli_;
  uint64_t last_ms_ = 0;
  bool started_ = false;
};

enum class Http2Violation : uint8_t {
  kNone,
  kRapidReset,         // RST_STREAM rate (CVE-2023-44487)
  kPingFlood,          // PING rate
  kSettingsFlood,      // SETTINGS rate
  kEmptyFrameFlood,    // consecutive DATA/HEADERS/CONTINUATION without payload
  kPriorityFlood,      // PRIORITY frames per opened stream
  kWindowUpdateFlood,  // WINDOW_UPDATE frames per DATA frame sent
  kStreamErrorFlood,   // streams the peer got reset by being malformed
  // Reported by nghttp2 (mapped from its error codes / GOAWAYs).
  kContinuationFlood,
  kOutboundFlood,  // queued ACKs / control frames the peer does not read
  kTooManySettings,
  kHeaderCompression,
  kBadPreface,
  kProtocolError,
};

std::string_view Http2ViolationName(Http2Violation violation);

// The effective limits of one downstream session, from ProxySettings plus
// fixed defaults for what is not configurable.
struct Http2FloodLimits {
  uint64_t reset_burst = 1000;
  uint64_t reset_rate = 33;
  uint64_t ping_burst = 200;
  uint64_t ping_rate = 50;
  uint64_t settings_burst = 100;
  uint64_t settings_rate = 10;
  uint64_t stream_error_burst = 200;
  uint64_t stream_error_rate = 20;
  uint32_t max_consecutive_empty_frames = 1;  // 0: off
  uint32_t priority_frames_per_stream = 100;
  uint32_t window_updates_per_data_frame = 10;
  // Rapid reset by ratio (Envoy's premature-reset check): once this many
  // streams were opened, more than half of them reset by the client before
  // their response started ends the connection. 0: off.
  uint32_t premature_reset_min_streams = 100;

  static Http2FloodLimits FromSettings(const routing::ProxySettings& proxy);
};

// HTTP/2 frame types (RFC 9113 6).
inline constexpr uint8_t kH2FrameData = 0x0;
inline constexpr uint8_t kH2FrameHeaders = 0x1;
inline constexpr uint8_t kH2FramePriority = 0x2;
inline constexpr uint8_t kH2FrameRstStream = 0x3;
inline constexpr uint8_t kH2FrameSettings = 0x4;
inline constexpr uint8_t kH2FramePing = 0x6;
inline constexpr uint8_t kH2FrameGoaway = 0x7;
inline constexpr uint8_t kH2FrameWindowUpdate = 0x8;
inline constexpr uint8_t kH2FrameContinuation = 0x9;
inline constexpr uint8_t kH2FlagEndStream = 0x1;
inline constexpr uint8_t kH2FlagAck = 0x1;

class Http2FloodGuard {
 public:
  explicit Http2FloodGuard(const Http2FloodLimits& limits);

  // Every inbound frame header (type, flags, payload length incl. padding).
  Http2Violation OnFrameHeader(uint8_t type, uint8_t flags, size_t length, uint64_t now_ms);
  // A new stream (HEADERS opening a stream).
  void OnStreamOpened() { ++streams_opened_; }
  // A DATA frame we sent (WINDOW_UPDATE allowance grows with it).
  void OnDataFrameSent() { ++data_frames_sent_; }
  // The peer's frame was malformed and cost it a stream (RST by us).
  Http2Violation OnPeerStreamError(uint64_t now_ms);
  // The client reset a stream before its response started.
  Http2Violation OnPrematureReset();

  uint64_t streams_opened() const { return streams_opened_; }

 private:
  Http2FloodLimits limits_;
  TokenBucket resets_;
  TokenBucket pings_;
  TokenBucket settings_;
  TokenBucket stream_errors_;
  uint32_t consecutive_empty_ = 0;
  uint64_t streams_opened_ = 0;
  uint64_t data_frames_sent_ = 0;
  uint64_t priority_frames_ = 0;
  uint64_t premature_resets_ = 0;
  uint64_t window_updates_ = 0;
};

}  // namespace gh::gateway
