#!/usr/bin/env bash
# The whole test suite, as CI runs it: install what is missing, check
# formatting, then build and run every test twice: a release build with
# warnings as errors, and an ASan+UBSan debug build. Exits non-zero on any
# failure and prints the failing tests' logs. Runs on 2 cores.
#
#   bash scripts/test.sh            everything
#   STEPS="release" bash scripts/test.sh     only some of: format release asan
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$(pwd)
JOBS=${JOBS:-2}
STEPS=${STEPS:-"format release asan"}

bash scripts/setup.sh || { echo "test: setup failed" >&2; exit 1; }

declare -a results=()
failed=0
started=$(date +%s)

note() { printf '\n=== %s\n' "$*"; }
record() {  # name status
  if [ "$2" -eq 0 ]; then results+=("PASS  $1"); else results+=("FAIL  $1"); failed=1; fi
}

# --- formatting -------------------------------------------------------------
check_format() {
  local files
  if git -C "$ROOT" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    files=$(git -C "$ROOT" ls-files -- '*.cc' '*.h')
  else
    files=$(find . -path ./build\* -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
  fi
  [ -z "$files" ] && return 0
  # shellcheck disable=SC2086
  clang-format --dry-run --Werror $files
}

# --- one build + its tests --------------------------------------------------
# build_and_test NAME DIR [meson options...]
build_and_test() {
  local name=$1 dir=$2
  shift 2
  note "$name: configure ($*)"
  local log
  log=$(mktemp)
  if [ -f "$dir/meson-private/coredata.dat" ]; then
    meson setup --reconfigure "$dir" "$@" >"$log" 2>&1
  else
    rm -rf "$dir"
    meson setup "$dir" "$@" >"$log" 2>&1
  fi || { cat "$log"; rm -f "$log"; record "$name: configure" 1; return 1; }
  rm -f "$log"

  note "$name: build"
  if ! ninja -C "$dir" -j"$JOBS"; then
    record "$name: build" 1
    return 1
  fi
  record "$name: build" 0

  note "$name: test"
  local rc=0
  meson test -C "$dir" --num-processes "$JOBS" --print-errorlogs \
    --timeout-multiplier "${TIMEOUT_MULTIPLIER:-1}" || rc=$?
  record "$name: tests" "$rc"
  summarize "$name" "$dir/meson-logs/testlog.json"
  return "$rc"
}

# Counts test cases from meson's JSON log: gtest cases where the output says
# so, one per meson test otherwise.
total_pass=0
total_fail=0
summarize() {
  local name=$1 log=$2
  [ -f "$log" ] || return 0
  local counts
  counts=$(/usr/bin/python3 - "$log" <<'PY'
import json, re, sys
passed = failed = 0
for line in open(sys.argv[1]):
    t = json.loads(line)
    out = t.get("stdout") or ""
    p = re.findall(r"^\[  PASSED  \] (\d+) tests?\.", out, re.M)
    f = re.findall(r"^\[  FAILED  \] (\d+) tests?, listed below", out, re.M)
    if p or f:
        passed += sum(map(int, p))
        failed += sum(map(int, f))
        if t.get("result") not in ("OK", "EXPECTEDFAIL", "SKIP") and not f:
            failed += 1  # crashed or timed out before gtest could say
    elif t.get("result") in ("OK", "EXPECTEDFAIL"):
        passed += 1
    elif t.get("result") != "SKIP":
        failed += 1
print(passed, failed)
PY
)
  local p f
  read -r p f <<<"$counts"
  echo "$name: $p test cases passed, $f failed"
  total_pass=$((total_pass + p))
  total_fail=$((total_fail + f))
}

for step in $STEPS; do
  case $step in
    format)
      note "format: clang-format --dry-run --Werror on tracked *.cc/*.h"
      check_format
      record "clang-format" $?
      ;;
    release)
      build_and_test release build-release \
        -Dbuildtype=release -Dwerror=true
      ;;
    asan)
      export ASAN_OPTIONS="halt_on_error=1:detect_leaks=1:print_stacktrace=1:check_initialization_order=1"
      export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
      export LSAN_OPTIONS="print_suppressions=0"
      TIMEOUT_MULTIPLIER=${TIMEOUT_MULTIPLIER:-3} build_and_test asan build-asan \
        -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false -Dwerror=true
      unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
      ;;
    *)
      echo "test: unknown step '$step' (steps: format release asan)" >&2
      record "unknown step $step" 1
      ;;
  esac
done

note "summary ($(( $(date +%s) - started )) s)"
printf '%s\n' "${results[@]}"
echo "${total_pass} passed, ${total_fail} failed"
exit "$failed"
