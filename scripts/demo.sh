#!/usr/bin/env bash
# Quick start: install what is missing, build a release binary, start a small
# demo upstream (python3 -m http.server on 127.0.0.1:8081) and run Gatehouse on
# its embedded default config (127.0.0.1:8080, /demo/ proxied to :8081).
# Ctrl-C stops Gatehouse; the demo upstream is stopped with it.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build-release}

bash scripts/setup.sh

if [ -f "$BUILD/meson-private/coredata.dat" ]; then
  meson setup --reconfigure "$BUILD" -Dbuildtype=release >/dev/null
else
  meson setup "$BUILD" -Dbuildtype=release >/dev/null
fi
ninja -C "$BUILD" -j"${JOBS:-2}" gatehouse

# The demo upstream serves a page at / and at /demo/ (whether or not the route
# strips the prefix).
site=$(mktemp -d /tmp/gatehouse-demo-XXXXXX)
page='<!doctype html><title>Gatehouse demo upstream</title><h1>Hello through Gatehouse</h1><p>This page comes from python3 -m http.server on 127.0.0.1:8081.</p>'
mkdir -p "$site/demo"
printf '%s\n' "$page" >"$site/index.html"
printf '%s\n' "$page" >"$site/demo/index.html"

/usr/bin/python3 -m http.server 8081 --bind 127.0.0.1 --directory "$site" \
  >"$site/http.server.log" 2>&1 &
upstream_pid=$!
cleanup() {
  kill -TERM "$upstream_pid" 2>/dev/null || true
  wait "$upstream_pid" 2>/dev/null || true
  rm -rf "$site"
}
trap cleanup EXIT

for _ in $(seq 1 100); do
  if ! kill -0 "$upstream_pid" 2>/dev/null; then
    echo "demo: the upstream could not start on 127.0.0.1:8081:" >&2
    cat "$site/http.server.log" >&2
    exit 1
  fi
  if (exec 3<>/dev/tcp/127.0.0.1/8081) 2>/dev/null; then break; fi
  sleep 0.05
done

# Gatehouse runs in the background so this script can tell when it listens;
# Ctrl-C (SIGINT) is forwarded to it as SIGTERM (graceful drain).
"$BUILD/gatehouse" run &
gatehouse_pid=$!
trap 'kill -TERM "$gatehouse_pid" 2>/dev/null || true' INT TERM

listening=0
for _ in $(seq 1 200); do
  kill -0 "$gatehouse_pid" 2>/dev/null || break
  if (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null; then listening=1; break; fi
  sleep 0.05
done

if [ "$listening" = 1 ]; then
  cat <<MSG

  Gatehouse listens on http://127.0.0.1:8080 (embedded default config)
  demo upstream: python3 -m http.server on 127.0.0.1:8081, proxied at /demo/

  try:   curl http://127.0.0.1:8080/demo/
  stop:  Ctrl-C

MSG
fi

status=0
while kill -0 "$gatehouse_pid" 2>/dev/null; do
  wait "$gatehouse_pid" || status=$?
done
wait "$gatehouse_pid" 2>/dev/null || status=$?
if [ "$listening" = 0 ]; then
  echo "demo: gatehouse exited (status $status) before listening on 127.0.0.1:8080" >&2
  [ "$status" = 0 ] && status=1
fi
exit "$status"
