#include "gateway/llhttp_execute.h"

extern "C" int llhttp__internal_execute(llhttp_t* state, const char* p, const char* endp);
#ifdef GH_LLHTTP_SSE42
extern "C" int llhttp__sse42_execute(llhttp_t* state, const char* p, const char* endp);
#endif

namespace gh::gateway {
namespace {

using Execute = int (*)(llhttp_t*, const char*, const char*);

Execute Pick() {
#ifdef GH_LLHTTP_SSE42
  __builtin_cpu_init();  // may run before main, from a static initialiser
  if (__builtin_cpu_supports("sse4.2")) return &llhttp__sse42_execute;
#endif
  return &llhttp__internal_execute;
}

Execute Chosen() {
  static const Execute execute = Pick();
  return execute;
}

}  // namespace

llhttp_errno_t ExecuteLlhttp(llhttp_t* parser, const char* data, size_t size) {
  return static_cast<llhttp_errno_t>(Chosen()(parser, data, data + size));
}

llhttp_errno_t ExecuteLlhttpBaseline(llhttp_t* parser, const char* data, size_t size) {
  return static_cast<llhttp_errno_t>(llhttp__internal_execute(parser, data, data + size));
}

bool LlhttpUsesSse42() {
#ifdef GH_LLHTTP_SSE42
  return Chosen() == &llhttp__sse42_execute;
#else
  return false;
#endif
}

}  // namespace gh::gateway
