// Composition root: CLI (run, check, explain, ca, version).
#include <cstdio>
#include <cstring>

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "version") == 0) {
    std::printf("gatehouse %s\n", GATEHOUSE_VERSION);
    return 0;
  }
  std::fprintf(stderr, "usage: gatehouse run|check|explain|ca|version\n");
  return 2;
}
