// llhttp_execute through the fastest build of llhttp this CPU can run (see
// the root meson.build: an SSE4.2 copy of the state machine on x86-64).
#pragma once

#include <llhttp.h>

#include <cstddef>

namespace gh::gateway {

llhttp_errno_t ExecuteLlhttp(llhttp_t* parser, const char* data, size_t size);

// Whether the SSE4.2 build is in use.
bool LlhttpUsesSse42();
// The baseline build, whatever the CPU (tests compare the two).
llhttp_errno_t ExecuteLlhttpBaseline(llhttp_t* parser, const char* data, size_t size);

}  // namespace gh::gateway
