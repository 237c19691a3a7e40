#!/usr/bin/env bash
# User-space instructions per proxied request, counted by callgrind: a
# noise-free A/B for request-path changes (wall-clock CPU on a shared VM
# varies by +-8 %; instruction counts repeat to within a few per request).
#
#   bash bench/proxy/count_instructions.sh BIN [PATH] [REQUESTS]
#     BIN       a gatehouse binary, or "nginx" / "nghttpx" for those as the proxy
#     PATH      /small (100 B, default) or /64k
#   env: TLS=1 (HTTPS listener), H2ARGS="-m16" (HTTP/2; default --h1),
#        KEEP=DIR (keep the callgrind profiles there, for callgrind_annotate)
#
# The proxy runs under valgrind with instrumentation off; after a 2,000
# request warm-up it is switched on for REQUESTS (20,000) h2load requests
# (16 connections) to an nginx origin, then off, and the total is divided by
# the request count. Loopback only, ports picked at run time, every process
# stopped by PID.
set -euo pipefail
BIN=$1
REQ_PATH=${2:-/small}
N=${3:-20000}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
W=$(mktemp -d /tmp/gh-instr-XXXXXX)
BODIES=$W/bodies
mkdir -p "$W/o" "$BODIES"
PIDS=()
cleanup() {
  local p
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  rm -rf "$W"
}
trap cleanup EXIT
head -c 100 /dev/zero | tr '\0' a >"$BODIES/small"
head -c 65536 /dev/zero | tr '\0' b >"$BODIES/64k"
chmod -R a+rX "$W"
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
OP=$(free_port) PP=$(free_port) AP=$(free_port)

cat >"$W/o/nginx.conf" <<E2
worker_processes 1; daemon off; pid $W/o/nginx.pid; error_log $W/o/error.log warn;
events { worker_connections 8192; }
http { access_log off; client_body_temp_path $W/o/cb; proxy_temp_path $W/o/p;
  fastcgi_temp_path $W/o/f; uwsgi_temp_path $W/o/u; scgi_temp_path $W/o/s;
  keepalive_requests 1000000; keepalive_timeout 75s; default_type application/octet-stream;
  server { listen 127.0.0.1:$OP reuseport; root $BODIES; location / { } } }
E2
nginx -c "$W/o/nginx.conf" -p "$W/o" >/dev/null 2>&1 &
PIDS+=($!)

SCHEME=http
if [ "$BIN" = nghttpx ]; then
  # The HTTP/2 reference: one worker, single process so callgrind sees it.
  {
    if [ -n "${TLS:-}" ]; then
      openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
        -keyout "$W/k.pem" -out "$W/c.pem" -days 2 -subj /CN=bench.test >/dev/null 2>&1
      echo "frontend=127.0.0.1,$PP"
      echo "private-key-file=$W/k.pem"
      echo "certificate-file=$W/c.pem"
      SCHEME=https
    else
      echo "frontend=127.0.0.1,$PP;no-tls"
    fi
    echo "backend=127.0.0.1,$OP;;proto=http/1.1"
    echo "workers=1"
    echo "single-process=yes"
    echo "backend-connections-per-host=1024"
    echo "frontend-http2-max-concurrent-streams=100"
    echo "errorlog-file=$W/nghttpx-error.log"
  } >"$W/nghttpx.conf"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.out" \
    nghttpx --conf="$W/nghttpx.conf" >"$W/proxy.log" 2>&1 &
elif [ "$BIN" = nginx ]; then
  [ -z "${TLS:-}" ] || { echo "TLS=1 is for gatehouse and nghttpx only" >&2; exit 2; }
  mkdir -p "$W/n"
  cat >"$W/n/nginx.conf" <<E3
worker_processes 1; daemon off; master_process off; pid $W/n/nginx.pid; error_log $W/n/error.log warn;
events { worker_connections 8192; }
http { access_log off; client_body_temp_path $W/n/cb; proxy_temp_path $W/n/p;
  fastcgi_temp_path $W/n/f; uwsgi_temp_path $W/n/u; scgi_temp_path $W/n/s;
  keepalive_requests 1000000; keepalive_timeout 75s;
  upstream origin { server 127.0.0.1:$OP; keepalive 128; }
  server { listen 127.0.0.1:$PP;
    location / { proxy_pass http://origin; proxy_http_version 1.1; proxy_set_header Connection ""; } } }
E3
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.out" \
    nginx -c "$W/n/nginx.conf" -p "$W/n" >"$W/proxy.log" 2>&1 &
else
  TLS_LINE=""
  NAME=http PROTO=HTTP
  if [ -n "${TLS:-}" ]; then
    openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
      -keyout "$W/k.pem" -out "$W/c.pem" -days 2 -subj /CN=bench.test >/dev/null 2>&1
    TLS_LINE="tls = { mode = \"SIMPLE\", server_certificate = \"$W/c.pem\", private_key = \"$W/k.pem\" }"
    NAME=https PROTO=HTTPS SCHEME=https
  fi
  sed -e "s/@ADMIN_PORT@/$AP/;s/@PROXY_PORT@/$PP/;s/@SERVER_NAME@/$NAME/;s/@SERVER_PROTOCOL@/$PROTO/" \
      -e "s#@SERVER_TLS@#$TLS_LINE#;s/@ORIGIN_PORT@/$OP/" "$HERE/gatehouse.toml.in" >"$W/g.toml"
  valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.out" \
    "$BIN" run -c "$W/g.toml" >"$W/proxy.log" 2>&1 &
fi
VPID=$!
PIDS+=("$VPID")
URL=$SCHEME://127.0.0.1:$PP$REQ_PATH
for _ in $(seq 150); do curl -sk -o /dev/null "$URL" && break; sleep 0.2; done
LOAD=(timeout 600 h2load ${H2ARGS:---h1} -c 16)
"${LOAD[@]}" -n 2000 "$URL" >/dev/null
callgrind_control -i on "$VPID" >/dev/null
"${LOAD[@]}" -n "$N" "$URL" | grep -E '^requests:'
callgrind_control -i off "$VPID" >/dev/null
callgrind_control -d "$VPID" >/dev/null
sleep 1
total=0
for f in "$W"/cg.out*; do
  t=$(grep '^totals:' "$f" | tail -1 | awk '{print $2}' || true)
  total=$((total + ${t:-0}))
done
echo "instructions per request: $((total / N))"
if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$W"/cg.out* "$KEEP"/; fi
