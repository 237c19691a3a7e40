#include "gateway/http2_limits.h"

#include <algorithm>

namespace gh::gateway {

TokenBucket::TokenBucket(uint64_t burst, uint64_t rate_per_second)
    : capacity_milli_(burst * 1000), rate_(rate_per_second), milli_(burst * 1000) {}

void TokenBucket::Refill(uint64_t now_ms) {
  if (!started_) {
    started_ = true;
    last_ms_ = now_ms;
    return;
  }
  if (now_ms <= last_ms_) return;
  const uint64_t elapsed = now_ms - last_ms_;
  last_ms_ = now_ms;
  // Saturating: a long idle period refills to capacity, never overflows.
  const uint64_t room = capacity_milli_ - milli_;
  if (rate_ != 0 && elapsed >= room / rate_ + 1) {
    milli_ = capacity_milli_;
  } else {
    milli_ = std::min(capacity_milli_, milli_ + elapsed * rate_);
  }
}

bool TokenBucket::Consume(uint64_t now_ms) {
  Refill(now_ms);
  if (milli_ < 1000) return false;
  milli_ -= 1000;
  return true;
}

uint64_t TokenBucket::tokens(uint64_t now_ms) {
  Refill(now_ms);
  return milli_ / 1000;
}

std::string_view Http2ViolationName(Http2Violation violation) {
  switch (violation) {
    case Http2Violation::kNone:
      return "none";
    case Http2Violation::kRapidReset:
      return "rapid_reset";
    case Http2Violation::kPingFlood:
      return "ping_flood";
    case Http2Violation::kSettingsFlood:
      return "settings_flood";
    case Http2Violation::kEmptyFrameFlood:
      return "empty_frame_flood";
    case Http2Violation::kPriorityFlood:
      return "priority_flood";
    case Http2Violation::kWindowUpdateFlood:
      return "window_update_flood";
    case Http2Violation::kStreamErrorFlood:
      return "stream_error_flood";
    case Http2Violation::kContinuationFlood:
      return "continuation_flood";
    case Http2Violation::kOutboundFlood:
      return "outbound_flood";
    case Http2Violation::kTooManySettings:
      return "too_many_settings";
    case Http2Violation::kHeaderCompression:
      return "header_compression";
    case Http2Violation::kBadPreface:
      return "bad_preface";
    case Http2Violation::kProtocolError:
      return "protocol_error";
  }
  return "unknown";
}

Http2FloodLimits Http2FloodLimits::FromSettings(const routing::ProxySettings& proxy) {
  Http2FloodLimits limits;
  limits.reset_burst = proxy.http2_stream_reset_burst;
  limits.reset_rate = proxy.http2_stream_reset_rate;
  limits.max_consecutive_empty_frames = proxy.http2_max_consecutive_empty_frames;
  return limits;
}

Http2FloodGuard::Http2FloodGuard(const Http2FloodLimits& limits)
    : limits_(limits),
      resets_(limits.reset_burst, limits.reset_rate),
      pings_(limits.ping_burst, limits.ping_rate),
      settings_(limits.settings_burst, limits.settings_rate),
      stream_errors_(limits.stream_error_burst, limits.stream_error_rate) {}

Http2Violation Http2FloodGuard::OnFrameHeader(uint8_t type, uint8_t flags, size_t length,
                                              uint64_t now_ms) {
  switch (type) {
    case kH2FrameData:
    case kH2FrameHeaders:
    case kH2FrameContinuation: {
      const bool end_stream = type != kH2FrameContinuation && (flags & kH2FlagEndStream) != 0;
      if (length == 0 && !end_stream) {
        if (limits_.max_consecutive_empty_frames != 0 &&
            ++consecutive_empty_ > limits_.max_consecutive_empty_frames) {
          return Http2Violation::kEmptyFrameFlood;
        }
      } else {
        consecutive_empty_ = 0;
      }
      return Http2Violation::kNone;
    }
    case kH2FrameRstStream:
      return resets_.Consume(now_ms) ? Http2Violation::kNone : Http2Violation::kRapidReset;
    case kH2FramePing:
      if ((flags & kH2FlagAck) != 0) return Http2Violation::kNone;
      return pings_.Consume(now_ms) ? Http2Violation::kNone : Http2Violation::kPingFlood;
    case kH2FrameSettings:
      if ((flags & kH2FlagAck) != 0) return Http2Violation::kNone;
      return settings_.Consume(now_ms) ? Http2Violation::kNone : Http2Violation::kSettingsFlood;
    case kH2FramePriority:
      ++priority_frames_;
      if (priority_frames_ > uint64_t{limits_.priority_frames_per_stream} * (1 + streams_opened_)) {
        return Http2Violation::kPriorityFlood;
      }
      return Http2Violation::kNone;
    case kH2FrameWindowUpdate:
      ++window_updates_;
      // Envoy's allowance, with some slack for the connection-level updates
      // clients send before any response.
      if (window_updates_ >
          10 + 2 * (streams_opened_ +
                    uint64_t{limits_.window_updates_per_data_frame} * data_frames_sent_)) {
        return Http2Violation::kWindowUpdateFlood;
      }
      return Http2Violation::kNone;
    default:
      return Http2Violation::kNone;
  }
}

Http2Violation Http2FloodGuard::OnPrematureReset() {
  ++premature_resets_;
  if (limits_.premature_reset_min_streams != 0 &&
      streams_opened_ >= limits_.premature_reset_min_streams &&
      premature_resets_ * 2 > streams_opened_) {
    return Http2Violation::kRapidReset;
  }
  return Http2Violation::kNone;
}

Http2Violation Http2FloodGuard::OnPeerStreamError(uint64_t now_ms) {
  return stream_errors_.Consume(now_ms) ? Http2Violation::kNone : Http2Violation::kStreamErrorFlood;
}

}  // namespace gh::gateway
