#!/usr/bin/env bash
# Side-by-side proxy benchmark: Gatehouse, HAProxy, nginx and nghttpx with
# equivalent configs in front of the same origin, on this machine, on loopback.
#
#   bash bench/proxy/run.sh
#
# Layout: each proxy runs with 1 worker/thread pinned to core $PROXY_CPU
# (taskset); the origin (an nginx serving fixed bodies from tmpfs) and the
# load generator share core $LOAD_CPU. For every scenario it reports req/s,
# p50/p99 latency (wrk --latency, or h2load), the proxy's CPU time per request
# (utime+stime delta of the proxy's processes from /proc/<pid>/stat divided by
# completed requests), and ratios against the baseline proxy (Gatehouse).
#
# Environment knobs (all optional):
#   PROXIES="gatehouse haproxy nginx nghttpx"   which proxies, in this order
#   SCENARIOS="small 64k 1m"            see the scenario table below
#   DURATION=10   WARMUP=2              seconds per measurement / warm-up
#   CONNS=64 THREADS=1                  default load shape (scenarios may override)
#   PROXY_CPU=0 LOAD_CPU=1              cores
#   GATEHOUSE_BIN=build-release/gatehouse
#   BASELINE=gatehouse                  ratios are X / baseline
#   OUT_DIR=<dir>                       keep configs, logs and results.tsv there
#
# Every load run is bounded (wrk -d / h2load -D plus a hard timeout), every
# process started here is stopped by its own PID on exit, and all traffic
# stays on 127.0.0.1.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)

PROXIES=${PROXIES:-"gatehouse haproxy nginx nghttpx"}
SCENARIOS=${SCENARIOS:-"small 64k 1m"}
DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
CONNS=${CONNS:-64}
THREADS=${THREADS:-1}
PROXY_CPU=${PROXY_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
GATEHOUSE_BIN=${GATEHOUSE_BIN:-$ROOT/build-release/gatehouse}
BASELINE=${BASELINE:-gatehouse}
CLK_TCK=$(getconf CLK_TCK)

# ---------------------------------------------------------------- scenarios
# name -> "tool scheme path connections [extra load-generator args...]"
#   tool:   wrk (HTTP/1.1 keep-alive) | h2load (HTTP/2, -m streams per connection)
#   scheme: http | https (TLS: each proxy terminates with the same ECDSA P-256 cert)
#           | h2c (cleartext HTTP/2 with prior knowledge on the plain listener;
#             nginx cannot serve it beside HTTP/1.1 on one port and is skipped)
#   extra:  passed to the tool; split on spaces, then "~" inside an argument
#           becomes a space (wrk ignores "-H Connection:close" without the
#           space after the colon and would silently keep connections alive)
# To add one: add a line here, then make sure each proxy's config writer
# handles its scheme/protocol (write_*_config below).
declare -A SCENARIO=(
  [small]="wrk http /small $CONNS"
  [64k]="wrk http /64k $CONNS"
  [1m]="wrk http /1m $CONNS"
  [tls-small]="wrk https /small $CONNS"
  [tls-handshake]="wrk https /small $CONNS -H Connection:~close"
  [h2-tls-small]="h2load https /small 16"
  [h2c-small]="h2load h2c /small 16"
)
H2_STREAMS=${H2_STREAMS:-16}

if [ -n "${OUT_DIR:-}" ]; then
  WORK=$OUT_DIR
  mkdir -p "$WORK"
else
  WORK=$(mktemp -d /tmp/gh-bench-XXXXXX)
fi
# Bodies live in tmpfs so the origin never touches a disk.
BODIES=$(mktemp -d /dev/shm/gh-bench-bodies-XXXXXX)

# ---------------------------------------------------------------- process bookkeeping
declare -a STARTED=()

stop_pid() {
  local pid=$1
  kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local pid
  for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
  rm -rf "$BODIES"
  if [ -z "${OUT_DIR:-}" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf '[bench] %s\n' "$*" >&2; }

free_port() {
  /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

wait_port() {  # port timeout_s pid
  local port=$1 deadline=$((SECONDS + $2)) pid=$3
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || return 1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 0; fi
    sleep 0.05
  done
  return 1
}

# utime+stime (clock ticks) of a PID and its direct children (nginx workers).
cpu_ticks() {
  local pid=$1 total=0 p
  for p in $pid $(pgrep -P "$pid" 2>/dev/null || true); do
    if [ -r "/proc/$p/stat" ]; then
      # Fields after the ")" that closes comm: state is 3rd, utime 14th, stime 15th.
      local rest
      rest=$(sed 's/^.*) //' "/proc/$p/stat")
      total=$((total + $(awk '{print $12 + $13}' <<<"$rest")))
    fi
  done
  echo "$total"
}

# ---------------------------------------------------------------- origin and certs
make_bodies() {
  chmod 755 "$BODIES"  # nginx workers run as an unprivileged user
  head -c 100 /dev/zero | tr '\0' 'a' >"$BODIES/small"
  head -c 65536 /dev/zero | tr '\0' 'b' >"$BODIES/64k"
  head -c 1048576 /dev/zero | tr '\0' 'c' >"$BODIES/1m"
  chmod 644 "$BODIES"/*
}

make_cert() {
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$WORK/bench.key" -out "$WORK/bench.crt" -days 2 -subj "/CN=bench.test" \
    -addext "subjectAltName=DNS:bench.test" >/dev/null 2>&1
  cat "$WORK/bench.crt" "$WORK/bench.key" >"$WORK/bench.pem"  # HAProxy wants one file
}

nginx_common_http() {  # dir: temp paths nginx must be able to write
  local dir=$1
  cat <<EOF
  access_log off;
  client_body_temp_path $dir/client_body;
  proxy_temp_path $dir/proxy;
  fastcgi_temp_path $dir/fastcgi;
  uwsgi_temp_path $dir/uwsgi;
  scgi_temp_path $dir/scgi;
  keepalive_requests 1000000;
  keepalive_timeout 75s;
EOF
}

start_origin() {
  ORIGIN_PORT=$(free_port)
  local dir=$WORK/origin
  mkdir -p "$dir"
  cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 8192; }
http {
$(nginx_common_http "$dir")
  sendfile on;
  tcp_nopush on;
  open_file_cache max=16 inactive=1h;
  open_file_cache_valid 1h;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$ORIGIN_PORT reuseport backlog=4096;
    root $BODIES;
    location / { }
  }
}
EOF
  taskset -c "$LOAD_CPU" nginx -c "$dir/nginx.conf" -p "$dir" >"$dir/stdout.log" 2>&1 &
  ORIGIN_PID=$!
  STARTED+=("$ORIGIN_PID")
  wait_port "$ORIGIN_PORT" 5 "$ORIGIN_PID" || { log "origin nginx failed: $(cat "$dir/stdout.log" "$dir/error.log" 2>/dev/null)"; exit 1; }
  log "origin: nginx pid $ORIGIN_PID on 127.0.0.1:$ORIGIN_PORT (core $LOAD_CPU), bodies in $BODIES"
}

# ---------------------------------------------------------------- proxy configs
# render TEMPLATE OUT KEY=VALUE... : replaces every @KEY@ in TEMPLATE.
render() {
  shopt -u patsub_replacement 2>/dev/null || true  # bash 5.2: "&" stays literal
  local template=$1 out=$2 text kv
  shift 2
  text=$(<"$template")
  for kv in "$@"; do
    text=${text//@${kv%%=*}@/${kv#*=}}
  done
  printf '%s\n' "$text" >"$out"
}

# write_<proxy>_config DIR PORT TLS(0|1) -> prints the config path

write_gatehouse_config() {
  local dir=$1 port=$2 tls=$3
  local server_tls="" protocol="HTTP" name="http"
  if [ "$tls" = 1 ]; then
    protocol="HTTPS"
    name="https"
    server_tls="tls = { mode = \"SIMPLE\", server_certificate = \"$WORK/bench.crt\", private_key = \"$WORK/bench.key\" }"
  fi
  # A free admin port: the default 127.0.0.1:15000 may be taken on this machine.
  render "$HERE/gatehouse.toml.in" "$dir/gatehouse.toml" "PROXY_PORT=$port" \
    "ORIGIN_PORT=$ORIGIN_PORT" "SERVER_PROTOCOL=$protocol" "SERVER_NAME=$name" \
    "SERVER_TLS=$server_tls" "ADMIN_PORT=$(free_port)"
  echo "$dir/gatehouse.toml"
}

write_haproxy_config() {
  local dir=$1 port=$2 tls=$3
  local bind="bind 127.0.0.1:$port"
  if [ "$tls" = 1 ]; then bind="$bind ssl crt $WORK/bench.pem alpn h2,http/1.1"; fi
  render "$HERE/haproxy.cfg.in" "$dir/haproxy.cfg" "PROXY_BIND=$bind" "ORIGIN_PORT=$ORIGIN_PORT"
  echo "$dir/haproxy.cfg"
}

write_nginx_config() {
  local dir=$1 port=$2 tls=$3
  local listen="listen 127.0.0.1:$port reuseport backlog=4096;"
  if [ "$tls" = 1 ]; then
    listen="listen 127.0.0.1:$port ssl http2 reuseport backlog=4096;
    ssl_certificate $WORK/bench.crt;
    ssl_certificate_key $WORK/bench.key;
    ssl_protocols TLSv1.2 TLSv1.3;"
  fi
  render "$HERE/nginx.conf.in" "$dir/nginx.conf" "PROXY_LISTEN=$listen" \
    "ORIGIN_PORT=$ORIGIN_PORT" "DIR=$dir" "COMMON=$(nginx_common_http "$dir")"
  echo "$dir/nginx.conf"
}

write_nghttpx_config() {
  local dir=$1 port=$2 tls=$3
  # One worker, HTTP/1.1 to the origin with as many connections as needed
  # (the others open upstream connections on demand too), no access log.
  {
    if [ "$tls" = 1 ]; then
      echo "frontend=127.0.0.1,$port"
      echo "private-key-file=$WORK/bench.key"
      echo "certificate-file=$WORK/bench.crt"
    else
      echo "frontend=127.0.0.1,$port;no-tls"
    fi
    echo "backend=127.0.0.1,$ORIGIN_PORT;;proto=http/1.1"
    echo "workers=1"
    echo "backend-connections-per-host=1024"
    echo "frontend-http2-max-concurrent-streams=100"
    echo "errorlog-file=$dir/error.log"
    echo "pid-file=$dir/nghttpx.pid"
  } >"$dir/nghttpx.conf"
  echo "$dir/nghttpx.conf"
}

# start_proxy NAME TLS -> sets PROXY_PID, PROXY_PORT (returns 1 when it can't serve)
start_proxy() {
  local name=$1 tls=$2
  local dir=$WORK/$name-tls$tls
  mkdir -p "$dir"
  PROXY_PORT=$(free_port)
  local cfg
  case $name in
    gatehouse)
      if [ ! -x "$GATEHOUSE_BIN" ]; then
        log "gatehouse: no binary at $GATEHOUSE_BIN (build: meson setup build-release && ninja -C build-release)"
        return 1
      fi
      cfg=$(write_gatehouse_config "$dir" "$PROXY_PORT" "$tls")
      taskset -c "$PROXY_CPU" "$GATEHOUSE_BIN" run -c "$cfg" >"$dir/stdout.log" 2>"$dir/stderr.log" &
      ;;
    haproxy)
      cfg=$(write_haproxy_config "$dir" "$PROXY_PORT" "$tls")
      taskset -c "$PROXY_CPU" haproxy -db -f "$cfg" >"$dir/stdout.log" 2>"$dir/stderr.log" &
      ;;
    nginx)
      cfg=$(write_nginx_config "$dir" "$PROXY_PORT" "$tls")
      taskset -c "$PROXY_CPU" nginx -c "$cfg" -p "$dir" >"$dir/stdout.log" 2>"$dir/stderr.log" &
      ;;
    nghttpx)
      command -v nghttpx >/dev/null || { log "nghttpx: not installed (nghttp2-proxy)"; return 1; }
      cfg=$(write_nghttpx_config "$dir" "$PROXY_PORT" "$tls")
      taskset -c "$PROXY_CPU" nghttpx --conf="$cfg" >"$dir/stdout.log" 2>"$dir/stderr.log" &
      ;;
    *)
      log "unknown proxy $name"
      return 1
      ;;
  esac
  PROXY_PID=$!
  STARTED+=("$PROXY_PID")
  if ! wait_port "$PROXY_PORT" 10 "$PROXY_PID"; then
    log "$name: did not listen on $PROXY_PORT; skipping it. stderr:"
    sed 's/^/    /' "$dir/stderr.log" | head -20 >&2
    stop_pid "$PROXY_PID"
    return 1
  fi
  # It must actually proxy: the origin's small body through it.
  local scheme=http
  [ "$tls" = 1 ] && scheme=https
  local got
  got=$(curl -sk --max-time 5 -o /dev/null -w '%{http_code} %{size_download}' \
    "$scheme://127.0.0.1:$PROXY_PORT/small" || true)
  if [ "$got" != "200 100" ]; then
    log "$name: listening but not proxying (probe got '${got:-nothing}'); skipping it"
    sed 's/^/    /' "$dir/stderr.log" | head -20 >&2
    stop_pid "$PROXY_PID"
    return 1
  fi
  log "$name: pid $PROXY_PID on 127.0.0.1:$PROXY_PORT (core $PROXY_CPU, tls=$tls)"
  return 0
}

# ---------------------------------------------------------------- load
to_ms() {  # "356.00us" | "1.23ms" | "2.00s" -> milliseconds
  awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f", v / 1000 }
    else if (v ~ /ms$/) { sub(/ms$/, "", v); printf "%.3f", v }
    else if (v ~ /s$/) { sub(/s$/, "", v); printf "%.3f", v * 1000 }
    else printf "nan" }'
}

# run_load TOOL URL CONNS SECONDS OUTFILE [EXTRA ARGS...]
run_load() {
  local tool=$1 url=$2 conns=$3 secs=$4 out=$5
  shift 5
  local hard=$((secs + 30))
  case $tool in
    wrk)
      timeout -k 5 "$hard" taskset -c "$LOAD_CPU" \
        wrk -t"$THREADS" -c"$conns" -d"${secs}s" --latency "$@" "$url" >"$out" 2>&1
      ;;
    h2load)
      timeout -k 5 "$hard" taskset -c "$LOAD_CPU" \
        h2load -c"$conns" -m"$H2_STREAMS" -t"$THREADS" -D"$secs" "$@" "$url" >"$out" 2>&1
      ;;
  esac
}

# parse_load TOOL OUTFILE -> "requests rps p50_ms p99_ms errors"
parse_load() {
  local tool=$1 out=$2
  case $tool in
    wrk)
      local reqs rps p50 p99 non2xx sockerr
      reqs=$(awk '/requests in/ {print $1}' "$out")
      rps=$(awk '/^Requests\/sec:/ {print $2}' "$out")
      p50=$(to_ms "$(awk '$1 == "50%" {print $2}' "$out")")
      p99=$(to_ms "$(awk '$1 == "99%" {print $2}' "$out")")
      non2xx=$(awk '/Non-2xx or 3xx responses:/ {print $NF}' "$out")
      sockerr=$(awk '/Socket errors:/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out")
      echo "${reqs:-0} ${rps:-0} $p50 $p99 $(( ${non2xx:-0} + ${sockerr:-0} ))"
      ;;
    h2load)
      # "requests: N total, N started, N done, N succeeded, N failed, N errored"
      local done_ failed rps
      done_=$(awk '/^requests:/ {print $8}' "$out")
      failed=$(awk '/^requests:/ {print $12 + $14}' "$out")
      rps=$(awk '/^finished in/ {gsub(",", ""); print $4}' "$out")
      # h2load prints min/max/mean/sd, no percentiles: report the mean as p50
      # and max as p99 would be dishonest, so print nan.
      echo "${done_:-0} ${rps:-0} nan nan ${failed:-0}"
      ;;
  esac
}

# ---------------------------------------------------------------- main
for tool in wrk taskset haproxy nginx curl openssl; do
  command -v "$tool" >/dev/null || { log "missing $tool: run scripts/setup.sh"; exit 1; }
done
if [ "$(nproc)" -lt 2 ]; then log "needs 2 cores (proxy on one, origin + load on the other)"; exit 1; fi

# How busy is the machine before we start? Other work on these cores skews
# everything; the report says so instead of hiding it.
cpu_busy_pct() {  # over 1 s, all cores
  local a b
  a=($(head -1 /proc/stat))
  sleep 1
  b=($(head -1 /proc/stat))
  local idle=$(( (b[4] + b[5]) - (a[4] + a[5]) ))
  local total=0 i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  echo $(( total > 0 ? 100 * (total - idle) / total : 0 ))
}
BUSY_BEFORE=$(cpu_busy_pct)
if [ "$BUSY_BEFORE" -gt 15 ]; then
  log "warning: the machine was ${BUSY_BEFORE}% busy before the run; numbers will be noisy"
fi

make_bodies
start_origin
need_tls=0
for sc in $SCENARIOS; do
  [ -n "${SCENARIO[$sc]:-}" ] || { log "unknown scenario $sc (known: ${!SCENARIO[*]})"; exit 1; }
  read -r _ scheme _ _ <<<"${SCENARIO[$sc]}"
  [ "$scheme" = https ] && need_tls=1
done
[ "$need_tls" = 1 ] && make_cert

RESULTS=$WORK/results.tsv
printf 'scenario\tproxy\trequests\trps\tp50_ms\tp99_ms\tcpu_us_per_req\terrors\n' >"$RESULTS"
declare -A SKIPPED=()

for proxy in $PROXIES; do
  for tls in 0 1; do
    # Scenarios of this proxy that use this transport.
    todo=()
    for sc in $SCENARIOS; do
      read -r _ scheme _ _ <<<"${SCENARIO[$sc]}"
      if [ "$scheme" = h2c ] && [ "$proxy" = nginx ]; then
        [ "$tls" = 0 ] && SKIPPED[$proxy]="${SKIPPED[$proxy]:-}$sc(no h2c beside HTTP/1.1) "
        continue
      fi
      if { [ "$scheme" = https ] && [ "$tls" = 1 ]; } ||
        { [ "$scheme" != https ] && [ "$tls" = 0 ]; }; then
        todo+=("$sc")
      fi
    done
    [ ${#todo[@]} -eq 0 ] && continue
    if ! start_proxy "$proxy" "$tls"; then
      SKIPPED[$proxy]="${SKIPPED[$proxy]:-}${todo[*]} "
      continue
    fi
    for sc in "${todo[@]}"; do
      read -r tool scheme path conns extra <<<"${SCENARIO[$sc]}"
      read -r -a extra_args <<<"${extra:-}"
      extra_args=("${extra_args[@]//\~/ }")
      [ "$scheme" = h2c ] && scheme=http  # h2load: prior-knowledge h2c for http:// URLs
      url="$scheme://127.0.0.1:$PROXY_PORT$path"
      if [ "$WARMUP" -gt 0 ]; then
        run_load "$tool" "$url" "$conns" "$WARMUP" "$WORK/$sc-$proxy.warmup.txt" \
          "${extra_args[@]}" || true
      fi
      before=$(cpu_ticks "$PROXY_PID")
      run_load "$tool" "$url" "$conns" "$DURATION" "$WORK/$sc-$proxy.txt" "${extra_args[@]}" || true
      after=$(cpu_ticks "$PROXY_PID")
      read -r reqs rps p50 p99 errors <<<"$(parse_load "$tool" "$WORK/$sc-$proxy.txt")"
      cpu_us=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v n="$reqs" \
        'BEGIN { if (n > 0) printf "%.2f", t * 1e6 / hz / n; else print "nan" }')
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$sc" "$proxy" "$reqs" "$rps" "$p50" "$p99" \
        "$cpu_us" "$errors" >>"$RESULTS"
      log "$sc via $proxy: $rps req/s, p50 ${p50} ms, p99 ${p99} ms, ${cpu_us} us CPU/req, errors $errors"
    done
    stop_pid "$PROXY_PID"
  done
done

# ---------------------------------------------------------------- report
echo
echo "Gatehouse proxy benchmark  ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, ${DURATION}s per run,"
echo "  proxy on core $PROXY_CPU; origin nginx + load generator on core $LOAD_CPU;"
echo "  $(haproxy -v | head -1 | cut -d' ' -f1-3), $(nginx -v 2>&1 | cut -d' ' -f3), $(nghttpx --version 2>/dev/null | head -1),"
echo "  $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2), $(h2load --version 2>/dev/null | head -1);"
echo "  CPU busy before the run: ${BUSY_BEFORE}%)"
for key in "${!SKIPPED[@]}"; do echo "  skipped: $key (could not serve: see the messages above) for: ${SKIPPED[$key]}"; done
echo
awk -F'\t' -v base="$BASELINE" '
  NR == 1 { next }
  { key = $1 SUBSEP $2; rps[key] = $4; p99[key] = $6; cpu[key] = $7; rows[++n] = $0; seen[$1] = 1 }
  END {
    printf "%-14s %-10s %11s %9s %9s %12s %8s %9s %9s %9s\n", "scenario", "proxy", "req/s", "p50 ms", "p99 ms", "CPU us/req", "errors", "rps/" base, "p99/" base, "cpu/" base
    for (i = 1; i <= n; i++) {
      split(rows[i], f, "\t")
      b = f[1] SUBSEP base
      r1 = (b in rps && rps[b] > 0) ? sprintf("%.2f", f[4] / rps[b]) : "n/a"
      r2 = (b in p99 && p99[b] > 0 && f[6] != "nan") ? sprintf("%.2f", f[6] / p99[b]) : "n/a"
      r3 = (b in cpu && cpu[b] > 0 && f[7] != "nan") ? sprintf("%.2f", f[7] / cpu[b]) : "n/a"
      printf "%-14s %-10s %11.0f %9s %9s %12s %8s %9s %9s %9s\n", f[1], f[2], f[4], f[5], f[6], f[7], f[8], r1, r2, r3
    }
  }' "$RESULTS"
echo
if [ -n "${OUT_DIR:-}" ]; then echo "raw results: $RESULTS"; fi
