#include "gateway/trace_context.h"

#include "base/strings.h"

namespace gh::gateway {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return !s.empty();
}

bool AllZero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

std::string ToLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

void AppendHex(std::string& out, uint64_t value) {
  char hex[16];
  WriteHex64(hex, value);
  out.append(hex, sizeof hex);
}

// B3 ids are case-insensitive hex in practice; traceparent needs lowercase.
bool ValidB3Ids(std::string_view trace_id, std::string_view span_id, TraceContext* out) {
  if (trace_id.size() != 16 && trace_id.size() != 32) return false;
  if (span_id.size() != 16) return false;
  std::string trace = ToLower(trace_id), span = ToLower(span_id);
  if (!IsLowerHex(trace) || !IsLowerHex(span) || AllZero(trace) || AllZero(span)) return false;
  if (trace.size() == 16) trace.insert(0, 16, '0');
  out->trace_id = std::move(trace);
  out->parent_id = std::move(span);
  return true;
}

}  // namespace

bool ParseTraceparent(std::string_view value, TraceContext* out) {
  // version "-" trace-id "-" parent-id "-" trace-flags
  if (value.size() < 55) return false;
  if (value[2] != '-' || value[35] != '-' || value[52] != '-') return false;
  const std::string_view version = value.substr(0, 2);
  const std::string_view trace_id = value.substr(3, 32);
  const std::string_view parent_id = value.substr(36, 16);
  const std::string_view flags = value.substr(53, 2);
  if (!IsLowerHex(version) || version == "ff") return false;
  if (version == "00" ? value.size() != 55 : (value.size() > 55 && value[55] != '-')) {
    return false;
  }
  if (!IsLowerHex(trace_id) || !IsLowerHex(parent_id) || !IsLowerHex(flags)) return false;
  if (AllZero(trace_id) || AllZero(parent_id)) return false;
  out->trace_id = std::string(trace_id);
  out->parent_id = std::string(parent_id);
  const int flag_bits = (flags[1] >= 'a' ? flags[1] - 'a' + 10 : flags[1] - '0');
  out->sampled = (flag_bits & 1) != 0;
  return true;
}

std::string FormatTraceparent(const TraceContext& context) {
  std::string out;
  out.reserve(55);
  out.append("00-").append(context.trace_id).push_back('-');
  out.append(context.parent_id).append(context.sampled ? "-01" : "-00");
  return out;
}

bool ParseB3Single(std::string_view value, TraceContext* out) {
  const size_t first = value.find('-');
  if (first == std::string_view::npos) return false;  // "0", "1", "d": no ids
  const std::string_view trace_id = value.substr(0, first);
  std::string_view rest = value.substr(first + 1);
  const size_t second = rest.find('-');
  const std::string_view span_id = rest.substr(0, second);
  std::string_view sampling;
  if (second != std::string_view::npos) {
    rest = rest.substr(second + 1);
    sampling = rest.substr(0, rest.find('-'));
    if (sampling != "0" && sampling != "1" && sampling != "d") return false;
  }
  if (!ValidB3Ids(trace_id, span_id, out)) return false;
  out->sampled = sampling == "1" || sampling == "d";
  return true;
}

bool ParseB3Multi(const http::HeaderMap& headers, TraceContext* out) {
  const std::string* trace_id = headers.Get("x-b3-traceid");
  const std::string* span_id = headers.Get("x-b3-spanid");
  if (trace_id == nullptr || span_id == nullptr) return false;
  if (!ValidB3Ids(*trace_id, *span_id, out)) return false;
  const std::string* sampled = headers.Get("x-b3-sampled");
  const std::string* flags = headers.Get("x-b3-flags");
  out->sampled = (sampled != nullptr && (*sampled == "1" || *sampled == "true")) ||
                 (flags != nullptr && *flags == "1");
  return true;
}

namespace {

void CreateContext(Random& random, const TraceContextOptions& options, TraceDecision* decision) {
  decision->origin = TraceOrigin::kCreated;
  uint64_t hi = 0, lo = 0, span = 0;
  while (hi == 0 && lo == 0)
    hi = random.Next(), lo = random.Next();
  while (span == 0)
    span = random.Next();
  decision->context.trace_id.reserve(32);
  AppendHex(decision->context.trace_id, hi);
  AppendHex(decision->context.trace_id, lo);
  AppendHex(decision->context.parent_id, span);
  decision->context.sampled = options.sample_new_traces;
}

}  // namespace

TraceDecision PropagateTraceContext(http::HeaderMap& headers, Random& random,
                                    const TraceContextOptions& options) {
  TraceDecision decision;
  // Most requests carry no trace context at all: one scan decides that.
  bool carries_context = false;
  for (const http::Header& h : headers) {
    if (h.name == "traceparent" || h.name == "tracestate" || h.name == "b3" ||
        h.name == "x-b3-traceid") {
      carries_context = true;
      break;
    }
  }
  if (!carries_context) {
    CreateContext(random, options, &decision);
    headers.Add("traceparent", FormatTraceparent(decision.context));
    return decision;
  }
  const std::string* traceparent = headers.Get("traceparent");
  if (traceparent != nullptr && headers.Count("traceparent") == 1 &&
      ParseTraceparent(*traceparent, &decision.context)) {
    decision.origin = TraceOrigin::kTraceparent;
    return decision;
  }
  if (traceparent != nullptr) headers.Remove("traceparent");
  headers.Remove("tracestate");

  const std::string* b3 = headers.Get("b3");
  if ((b3 != nullptr && ParseB3Single(*b3, &decision.context)) ||
      ParseB3Multi(headers, &decision.context)) {
    decision.origin = TraceOrigin::kB3;
  } else {
    CreateContext(random, options, &decision);
  }
  headers.Add("traceparent", FormatTraceparent(decision.context));
  return decision;
}

}  // namespace gh::gateway
