#!/usr/bin/python3
"""Gatehouse's steerable test upstream.

One asyncio process that plays the origin behind the gateway in integration
tests. Standard library plus Debian's python3-h2 only; run it with
/usr/bin/python3 (the pyenv `python3` on PATH lacks h2).

Command line
------------
  --host 127.0.0.1        address to bind (loopback only in tests)
  --port N                0 = pick a free port
  --control-port N        also open a plain HTTP/1.1 control listener (0 = pick);
                          its connections and requests are never counted
  --mode http1|h2c|h2     http1 (default): HTTP/1.1 only.
                          h2c / h2 (synonyms): HTTP/2 enabled: prior-knowledge
                          h2c and HTTP/1.1 on the same plain port (plus
                          `Upgrade: h2c`), or ALPN h2 + http/1.1 with --tls.
  --tls --cert F --key F  serve TLS (TLS 1.2 minimum)
  --ca F                  verify client certificates against this bundle
  --require-client-cert   with --ca: the handshake fails without a valid one
  --name NAME             reported as server_name and `x-upstream-name`
  --exit-with-parent      exit when the parent process goes away
  --verbose               log connections and errors to stderr

Once listening it prints ONE JSON line on stdout and keeps running:
  {"port": N}                       or, with --control-port,
  {"port": N, "control_port": M}
SIGTERM / SIGINT: close the listeners and every connection, exit 0.

Default response: echo (HTTP 200, application/json)
---------------------------------------------------
  {"method", "path", "query", "target", "authority", "scheme",
   "headers": [[name, value], ...]   (as received; no HTTP/2 pseudo-headers)
   "trailers": [[name, value], ...]  (request trailers, chunked or HTTP/2)
   "body_length", "body_sha256", "body" (only when body_length < 64 KiB,
   decoded as UTF-8 with replacement), "protocol" ("HTTP/1.0" | "HTTP/1.1" |
   "HTTP/2"), "tls": {"sni", "alpn", "version", "peer_spiffe_id",
   "peer_subject", "peer_uri_sans", "peer_dns_sans"} | null,
   "server_name", "connection_id", "request_number_on_connection", "peer"}
Every response also carries `x-upstream-name` and `x-upstream-connection-id`.

Request headers that steer the response (case-insensitive names)
---------------------------------------------------------------
  x-upstream-status: 503            response status (default 200)
  x-upstream-delay-ms: N            wait N ms (after reading the request body)
                                    before sending the response headers
  x-upstream-body-delay-ms: N       wait N ms between headers and body
  x-upstream-body-size: N           answer N bytes of the deterministic pattern
                                    (byte i of the body = i % 251) instead of the
                                    echo; streamed, never held whole (2 GiB is fine)
  x-upstream-chunk-size: N          write size for the body (default 256 KiB)
  x-upstream-chunk-delay-ms: N      pause between body writes (slow streams)
  x-upstream-chunked: 1             HTTP/1.1 chunked transfer encoding
  x-upstream-trailers: a=1,b=2      response trailers (chunked in HTTP/1.1,
                                    a trailing HEADERS frame in HTTP/2)
  x-upstream-reset: before-headers | after-headers | mid-body
                                    HTTP/1.1: TCP RST (SO_LINGER 0) at that point
                                    (mid-body = after half the body).
                                    HTTP/2: RST_STREAM with x-upstream-reset-code
                                    (default 2, INTERNAL_ERROR; 7 = REFUSED_STREAM).
                                    `connection` (both): TCP RST before headers.
  x-upstream-reset-once: TOKEN      apply x-upstream-reset (default before-headers)
                                    only to the first request carrying TOKEN; later
                                    ones are served normally (retry tests).
  x-upstream-close: 1               HTTP/1.1: `Connection: close` and close after
                                    the response. HTTP/2: GOAWAY after it, then close.
  x-upstream-header: name=value     extra response header; repeat the header line
                                    for several (lines merged by a proxy into
                                    "a=1, b=2" are split again). If it sets
                                    content-length or transfer-encoding, the
                                    upstream adds neither itself.
  x-upstream-no-content-length: 1   HTTP/1.1: body delimited by closing the
                                    connection. HTTP/2: no content-length header.
  x-upstream-expect-status: 417     with `Expect: 100-continue`: answer this final
                                    status instead of 100 and never read the body.
  x-upstream-raw: <base64>          HTTP/1.1 only: write these bytes verbatim as the
                                    whole response, then close (malformed-upstream
                                    tests).
  x-upstream-upgrade: 1             with `Upgrade: <token>` other than websocket/h2c:
                                    101 with that token, then echo raw bytes.
  x-upstream-goaway: 1              HTTP/2: send GOAWAY (last stream = this one)
                                    after the response, keep the connection open.

Request bodies are read streaming (Content-Length, chunked, HTTP/2 DATA) and
hashed; at most 64 KiB is kept for the echo. `Expect: 100-continue` gets a
`100 Continue` (HTTP/1.1 and HTTP/2) before the body is read.

WebSocket: `Upgrade: websocket` with `Sec-WebSocket-Key` gets 101 with the
RFC 6455 accept key; text/binary/continuation frames are echoed unmasked with
the same opcode (streamed, any size), ping gets pong, close gets close (same
payload) and the TCP connection is closed.

Control endpoints (not counted in the statistics below)
-------------------------------------------------------
  GET /__stats        {"accepts", "requests", "open_connections", "bad_requests",
                       "websockets", "name"}
                      accepts counts TCP accepts (a connection whose first request
                      is a control request is not counted), so keep-alive reuse by
                      a proxy shows as requests > accepts.
  POST /__reset_stats zero accepts/requests/bad_requests/websockets
                      (open_connections stays a live gauge).
"""

import argparse
import asyncio
import base64
import hashlib
import json
import os
import re
import signal
import socket
import ssl
import struct
import sys
import time

try:
    import h2.config
    import h2.connection
    import h2.events
    import h2.exceptions
    import h2.settings
    HAVE_H2 = True
except ImportError:  # pragma: no cover - reported when h2 is requested
    HAVE_H2 = False

PATTERN_PERIOD = 251
DEFAULT_CHUNK = 256 * 1024
MAX_CHUNK = 4 * 1024 * 1024
ECHO_LIMIT = 64 * 1024
HEAD_LIMIT = 1024 * 1024  # whole request head; the gateway enforces its own limits
H2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONTROL_PATHS = ("/__stats", "/__reset_stats")

# Pattern buffer: slicing at offset % 251 gives any window without copying.
_PATTERN = bytes(i % PATTERN_PERIOD for i in range(MAX_CHUNK + PATTERN_PERIOD))
_PATTERN_VIEW = memoryview(_PATTERN)


def pattern_slice(offset, n):
    start = offset % PATTERN_PERIOD
    return _PATTERN_VIEW[start:start + n]


REASONS = {
    100: "Continue", 101: "Switching Protocols", 200: "OK", 201: "Created",
    202: "Accepted", 204: "No Content", 206: "Partial Content",
    301: "Moved Permanently", 302: "Found", 304: "Not Modified",
    400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 408: "Request Timeout", 413: "Payload Too Large",
    417: "Expectation Failed", 421: "Misdirected Request", 429: "Too Many Requests",
    431: "Request Header Fields Too Large", 500: "Internal Server Error",
    501: "Not Implemented", 502: "Bad Gateway", 503: "Service Unavailable",
    504: "Gateway Timeout",
}


class Stats:
    def __init__(self):
        self.accepts = 0
        self.requests = 0
        self.open_connections = 0
        self.bad_requests = 0
        self.websockets = 0

    def reset(self):
        self.accepts = 0
        self.requests = 0
        self.bad_requests = 0
        self.websockets = 0


STATS = Stats()
OPTS = None
CONNECTIONS = set()
_next_conn_id = 0


def log(msg):
    if OPTS is not None and OPTS.verbose:
        print(f"upstream[{OPTS.name}]: {msg}", file=sys.stderr, flush=True)


class BadRequest(Exception):
    pass


class PeerGone(Exception):
    pass


class ConnInfo:
    """Per-TCP-connection state shared by the HTTP/1.1 and HTTP/2 paths."""

    def __init__(self, writer, control_listener):
        global _next_conn_id
        _next_conn_id += 1
        self.id = _next_conn_id
        self.writer = writer
        self.control_listener = control_listener
        self.counted = not control_listener
        self.requests = 0
        peer = writer.get_extra_info("peername")
        self.peer = f"{peer[0]}:{peer[1]}" if peer else None
        self.tls = tls_info(writer)
        if self.counted:
            STATS.accepts += 1
            STATS.open_connections += 1

    def note_request(self, path):
        """Counts a request; uncounts the connection if it starts with a control one."""
        self.requests += 1
        is_control = path in CONTROL_PATHS or self.control_listener
        if is_control:
            if self.counted and self.requests == 1:
                self.counted = False
                STATS.accepts -= 1
                STATS.open_connections -= 1
            return True
        STATS.requests += 1
        return False

    def closed(self):
        if self.counted:
            self.counted = False
            STATS.open_connections -= 1

    def abort_with_rst(self):
        sock = self.writer.get_extra_info("socket")
        if sock is not None:
            try:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            except OSError:
                pass
        self.writer.transport.abort()


def tls_info(writer):
    sslobj = writer.get_extra_info("ssl_object")
    if sslobj is None:
        return None
    info = {
        "sni": getattr(sslobj, "gh_sni", None),
        "alpn": sslobj.selected_alpn_protocol(),
        "version": sslobj.version(),
        "peer_spiffe_id": None,
        "peer_subject": None,
        "peer_uri_sans": [],
        "peer_dns_sans": [],
    }
    cert = sslobj.getpeercert()
    if cert:
        rdns = []
        for rdn in cert.get("subject", ()):
            for key, value in rdn:
                rdns.append(f"{_SHORT_NAMES.get(key, key)}={value}")
        info["peer_subject"] = ",".join(rdns) if rdns else ""
        for kind, value in cert.get("subjectAltName", ()):
            if kind == "URI":
                info["peer_uri_sans"].append(value)
                if value.startswith("spiffe://") and info["peer_spiffe_id"] is None:
                    info["peer_spiffe_id"] = value
            elif kind == "DNS":
                info["peer_dns_sans"].append(value)
    return info


_SHORT_NAMES = {"commonName": "CN", "organizationName": "O", "organizationalUnitName": "OU",
                "countryName": "C", "localityName": "L", "stateOrProvinceName": "ST"}


class BufReader:
    """StreamReader plus a push-back buffer (protocol sniffing, pipelining)."""

    def __init__(self, reader, initial=b""):
        self.reader = reader
        self.buf = bytearray(initial)

    async def read_some(self, n=DEFAULT_CHUNK):
        if self.buf:
            data = bytes(self.buf[:n])
            del self.buf[:n]
            return data
        try:
            return await self.reader.read(n)
        except (ConnectionError, OSError):
            return b""

    async def _fill(self):
        try:
            data = await self.reader.read(65536)
        except (ConnectionError, OSError):
            data = b""
        if not data:
            raise PeerGone()
        self.buf += data

    async def read_until(self, sep, limit):
        start = 0
        while True:
            idx = self.buf.find(sep, start)
            if idx >= 0:
                end = idx + len(sep)
                data = bytes(self.buf[:end])
                del self.buf[:end]
                return data
            if len(self.buf) > limit:
                raise BadRequest("head too large")
            start = max(0, len(self.buf) - len(sep) + 1)
            await self._fill()

    async def read_exactly(self, n):
        while len(self.buf) < n:
            await self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data


def header_get(headers, name, default=None):
    """Last value of a header (case-insensitive)."""
    name = name.lower()
    value = default
    for k, v in headers:
        if k.lower() == name:
            value = v
    return value


def header_all(headers, name):
    name = name.lower()
    return [v for k, v in headers if k.lower() == name]


def parse_pairs(text):
    out = []
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        out.append((name.strip(), value.strip()))
    return out


# Splits "a=1, b=2" (merged repeated x-upstream-header lines) but not "a=1; b=2"
# or values whose commas are not followed by `token=`.
_MERGED_PAIRS = re.compile(r",\s*(?=[!#$%&'*+.^_`|~0-9A-Za-z-]+=)")


def int_header(headers, name, default=0):
    value = header_get(headers, name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        return default


class Request:
    def __init__(self, conn, method, target, protocol, headers, body_iter, authority, scheme):
        self.conn = conn
        self.method = method
        self.target = target
        path, sep, query = target.partition("?")
        self.path = path
        self.query = query if sep else ""
        self.protocol = protocol
        self.headers = headers
        self.body_iter = body_iter
        self.trailers = []
        self.authority = authority
        self.scheme = scheme
        self.body_done = False


# Tokens of x-upstream-reset-once already seen (the first request resets).
RESET_ONCE_SEEN = set()


async def handle_request(req, resp):
    """Protocol-neutral request handling; resp is an H1Responder or H2Stream."""
    h = req.headers
    is_control = req.conn.note_request(req.path)
    if is_control:
        await drain_body(req)
        if req.path == "/__stats":
            body = json.dumps({"accepts": STATS.accepts, "requests": STATS.requests,
                               "open_connections": STATS.open_connections,
                               "bad_requests": STATS.bad_requests,
                               "websockets": STATS.websockets,
                               "name": OPTS.name}).encode()
            await simple_response(resp, 200, body, "application/json")
        elif req.path == "/__reset_stats" and req.method == "POST":
            STATS.reset()
            await simple_response(resp, 200, b'{"ok": true}', "application/json")
        else:
            await simple_response(resp, 405, b"use GET /__stats or POST /__reset_stats\n")
        return

    expect = (header_get(h, "expect") or "").lower() == "100-continue"
    if expect:
        expect_status = int_header(h, "x-upstream-expect-status", 0)
        if expect_status >= 200:
            resp.force_close = True
            await simple_response(resp, expect_status, b"")
            return
        await resp.send_continue()

    # Read the request body streaming: hash everything, keep at most 64 KiB.
    sha = hashlib.sha256()
    length = 0
    kept = bytearray()
    async for chunk in req.body_iter:
        sha.update(chunk)
        length += len(chunk)
        if len(kept) < ECHO_LIMIT:
            kept += chunk[:ECHO_LIMIT - len(kept)]
    req.body_done = True

    delay = int_header(h, "x-upstream-delay-ms")
    if delay > 0:
        await asyncio.sleep(delay / 1000)

    reset = (header_get(h, "x-upstream-reset") or "").lower()
    once = header_get(h, "x-upstream-reset-once")
    if once is not None:
        if once in RESET_ONCE_SEEN:
            reset = ""
        else:
            RESET_ONCE_SEEN.add(once)
            reset = reset or "before-headers"
    if reset == "connection" or (reset == "before-headers"):
        await resp.reset("before-headers" if reset != "connection" else "connection",
                         int_header(h, "x-upstream-reset-code", 2))
        return

    status = int_header(h, "x-upstream-status", 200)
    size_header = header_get(h, "x-upstream-body-size")
    if size_header is not None:
        try:
            body_size = int(size_header)
        except ValueError:
            body_size = 0
        body_bytes = None
        content_type = "application/octet-stream"
    else:
        echo = {
            "method": req.method, "path": req.path, "query": req.query, "target": req.target,
            "authority": req.authority, "scheme": req.scheme,
            "headers": [[k, v] for k, v in h],
            "trailers": [[k, v] for k, v in req.trailers],
            "body_length": length, "body_sha256": sha.hexdigest(),
            "protocol": req.protocol, "tls": req.conn.tls, "server_name": OPTS.name,
            "connection_id": req.conn.id,
            "request_number_on_connection": req.conn.requests, "peer": req.conn.peer,
        }
        if length < ECHO_LIMIT:
            echo["body"] = bytes(kept).decode("utf-8", errors="replace")
        body_bytes = (json.dumps(echo) + "\n").encode()
        body_size = len(body_bytes)
        content_type = "application/json"

    extra = []
    for line in header_all(h, "x-upstream-header"):
        # A proxy may merge repeated lines into one, comma-separated.
        for item in _MERGED_PAIRS.split(line):
            name, _, value = item.partition("=")
            if name.strip():
                extra.append((name.strip(), value.strip()))
    user_framing = any(n.lower() in ("content-length", "transfer-encoding") for n, _ in extra)
    trailers = parse_pairs(header_get(h, "x-upstream-trailers") or "")
    chunked = header_get(h, "x-upstream-chunked") == "1" or bool(trailers)
    no_cl = header_get(h, "x-upstream-no-content-length") == "1"
    close = header_get(h, "x-upstream-close") == "1"
    no_body = req.method == "HEAD" or status in (204, 304) or 100 <= status < 200

    headers = [("content-type", content_type), ("x-upstream-name", OPTS.name),
               ("x-upstream-connection-id", str(req.conn.id))]
    headers += extra
    await resp.start(status, headers, None if (chunked or no_cl or user_framing) else body_size,
                     chunked=chunked and not user_framing, close=close or no_cl,
                     no_body=no_body, user_framing=user_framing)
    if reset == "after-headers":
        await resp.reset(reset, int_header(h, "x-upstream-reset-code", 2))
        return

    body_delay = int_header(h, "x-upstream-body-delay-ms")
    if body_delay > 0:
        await asyncio.sleep(body_delay / 1000)

    if not no_body:
        limit = body_size // 2 if reset == "mid-body" else body_size
        if body_bytes is not None:
            await resp.write(memoryview(body_bytes)[:limit])
        else:
            chunk = min(max(int_header(h, "x-upstream-chunk-size", DEFAULT_CHUNK), 1), MAX_CHUNK)
            chunk_delay = int_header(h, "x-upstream-chunk-delay-ms")
            sent = 0
            while sent < limit:
                n = min(chunk, limit - sent)
                await resp.write(pattern_slice(sent, n))
                sent += n
                if chunk_delay > 0 and sent < limit:
                    await asyncio.sleep(chunk_delay / 1000)
        if reset == "mid-body":
            await resp.reset(reset, int_header(h, "x-upstream-reset-code", 2))
            return
    await resp.finish(trailers)
    if header_get(h, "x-upstream-goaway") == "1":
        resp.goaway()


async def drain_body(req):
    async for _ in req.body_iter:
        pass
    req.body_done = True


async def simple_response(resp, status, body, content_type="text/plain"):
    await resp.start(status, [("content-type", content_type),
                              ("x-upstream-name", OPTS.name)], len(body))
    if body and not resp.head:
        await resp.write(body)
    await resp.finish([])


# ---------------------------------------------------------------- HTTP/1.1


class H1Responder:
    def __init__(self, conn, writer, version, keep_alive, head):
        self.conn = conn
        self.writer = writer
        self.version = version
        self.keep_alive = keep_alive
        self.head = head
        self.chunked = False
        self.close_after = False
        self.force_close = False
        self.no_body = False
        self.aborted = False

    async def send_continue(self):
        if self.version == "HTTP/1.1":
            self.writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await self.writer.drain()

    async def start(self, status, headers, content_length, chunked=False, close=False,
                    no_body=False, user_framing=False):
        self.no_body = no_body or self.head
        if self.version == "HTTP/1.0" and chunked:
            chunked = False  # HTTP/1.0 has no chunked encoding: close-delimited
            close = True
        self.chunked = chunked and not no_body
        if content_length is None and not chunked and not no_body and not user_framing:
            close = True
        self.close_after = close or self.force_close or not self.keep_alive
        lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Status')}"]
        for name, value in headers:
            lines.append(f"{name}: {value}")
        if content_length is not None and status not in (204, 304) and not 100 <= status < 200:
            lines.append(f"content-length: {content_length}")
        if self.chunked:
            lines.append("transfer-encoding: chunked")
        if self.close_after:
            lines.append("connection: close")
        elif self.version == "HTTP/1.0":
            lines.append("connection: keep-alive")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        await self.writer.drain()

    async def write(self, data):
        if self.no_body or not data:
            return
        if self.chunked:
            self.writer.write(b"%x\r\n" % len(data))
            self.writer.write(data)
            self.writer.write(b"\r\n")
        else:
            self.writer.write(data)
        await self.writer.drain()

    async def finish(self, trailers):
        if self.chunked:
            tail = b"0\r\n"
            for name, value in trailers:
                tail += f"{name}: {value}\r\n".encode("latin-1")
            self.writer.write(tail + b"\r\n")
        await self.writer.drain()

    async def reset(self, stage, code):
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        if stage != "before-headers" and stage != "connection":
            await asyncio.sleep(0.05)  # let the peer read what was sent
        self.aborted = True
        self.conn.abort_with_rst()

    def goaway(self):
        pass


def parse_request_head(head):
    text = head.decode("latin-1")
    lines = text.split("\r\n")
    while lines and lines[-1] == "":
        lines.pop()
    if not lines:
        raise BadRequest("empty head")
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise BadRequest(f"bad request line {lines[0]!r}")
    method, target, version = parts
    if version not in ("HTTP/1.1", "HTTP/1.0"):
        raise BadRequest(f"bad version {version!r}")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip() or "\n" in line:
            raise BadRequest(f"bad header line {line!r}")
        headers.append((name, value.strip(" \t")))
    return method, target, version, headers


async def body_length_iter(br, remaining):
    while remaining > 0:
        data = await br.read_some(min(remaining, DEFAULT_CHUNK))
        if not data:
            raise PeerGone()
        remaining -= len(data)
        yield data


async def body_chunked_iter(br, req):
    while True:
        line = await br.read_until(b"\r\n", 4096)
        size_text = line[:-2].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise BadRequest(f"bad chunk size {size_text!r}")
        if size == 0:
            while True:
                tline = await br.read_until(b"\r\n", HEAD_LIMIT)
                if tline == b"\r\n":
                    return
                name, _, value = tline[:-2].decode("latin-1").partition(":")
                req.trailers.append((name.strip(), value.strip()))
        remaining = size
        while remaining > 0:
            data = await br.read_some(min(remaining, DEFAULT_CHUNK))
            if not data:
                raise PeerGone()
            remaining -= len(data)
            yield data
        if await br.read_exactly(2) != b"\r\n":
            raise BadRequest("chunk not followed by CRLF")


async def empty_iter():
    """An async generator that yields nothing (a request without a body)."""
    for chunk in ():
        yield chunk


async def serve_h1(conn, br, writer):
    while True:
        try:
            head = await br.read_until(b"\r\n\r\n", HEAD_LIMIT)
        except PeerGone:
            return
        except BadRequest:
            STATS.bad_requests += 1
            await send_bad_request(writer)
            return
        # Tolerate empty lines before a request (RFC 9112 2.2).
        head = head.lstrip(b"\r\n")
        if not head:
            continue
        try:
            method, target, version, headers = parse_request_head(head)
            te = header_get(headers, "transfer-encoding")
            cl_values = header_all(headers, "content-length")
            if te is not None and cl_values:
                raise BadRequest("both content-length and transfer-encoding")
            if te is not None:
                if te.lower().replace(" ", "") != "chunked":
                    raise BadRequest(f"unsupported transfer-encoding {te!r}")
                kind = "chunked"
            elif cl_values:
                if len(set(cl_values)) != 1 or not cl_values[0].isdigit():
                    raise BadRequest("bad content-length")
                kind, length = "length", int(cl_values[0])
            else:
                kind, length = "length", 0
        except BadRequest as e:
            log(f"bad request: {e}")
            STATS.bad_requests += 1
            await send_bad_request(writer)
            return

        conn_tokens = [t.strip().lower() for t in (header_get(headers, "connection") or "").split(",")]
        if version == "HTTP/1.1":
            keep_alive = "close" not in conn_tokens
        else:
            keep_alive = "keep-alive" in conn_tokens
        authority = header_get(headers, "host")
        scheme = "https" if conn.tls else "http"

        upgrade = (header_get(headers, "upgrade") or "")
        if upgrade and "upgrade" in conn_tokens:
            token = upgrade.split(",")[0].strip().lower()
            if token == "websocket" and header_get(headers, "sec-websocket-key"):
                conn.note_request(target.partition("?")[0])
                await serve_websocket(conn, br, writer, headers)
                return
            if token == "h2c" and OPTS.h2 and conn.tls is None and kind == "length":
                await serve_h2c_upgrade(conn, br, writer, method, target, headers, length)
                return
            if header_get(headers, "x-upstream-upgrade") == "1":
                conn.note_request(target.partition("?")[0])
                await serve_raw_upgrade(br, writer, upgrade.split(",")[0].strip())
                return

        raw = header_get(headers, "x-upstream-raw")
        if raw is not None:
            conn.note_request(target.partition("?")[0])
            try:
                writer.write(base64.b64decode(raw))
                await writer.drain()
            except (ValueError, ConnectionError, OSError):
                pass
            return

        req = Request(conn, method, target, version, headers, None, authority, scheme)
        if kind == "chunked":
            req.body_iter = body_chunked_iter(br, req)
        elif length > 0:
            req.body_iter = body_length_iter(br, length)
        else:
            req.body_iter = empty_iter()
            req.body_done = True
        resp = H1Responder(conn, writer, version, keep_alive, method == "HEAD")
        try:
            await handle_request(req, resp)
        except BadRequest as e:
            log(f"bad request body: {e}")
            STATS.bad_requests += 1
            await send_bad_request(writer)
            return
        if resp.aborted or resp.close_after or not req.body_done:
            return


async def send_bad_request(writer):
    try:
        writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
        await writer.drain()
    except (ConnectionError, OSError):
        pass


# ---------------------------------------------------------------- WebSocket


def ws_unmask(data, mask, offset):
    if not data:
        return data
    k = offset % 4
    rot = mask[k:] + mask[:k]
    n = len(data)
    key = (rot * (n // 4 + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def ws_header(first_byte, length):
    if length < 126:
        return bytes([first_byte, length])
    if length < 65536:
        return bytes([first_byte, 126]) + struct.pack("!H", length)
    return bytes([first_byte, 127]) + struct.pack("!Q", length)


async def serve_websocket(conn, br, writer, headers):
    key = header_get(headers, "sec-websocket-key")
    accept = base64.b64encode(hashlib.sha1((key + WS_GUID).encode()).digest()).decode()
    lines = ["HTTP/1.1 101 Switching Protocols", "upgrade: websocket", "connection: Upgrade",
             f"sec-websocket-accept: {accept}", f"x-upstream-name: {OPTS.name}"]
    proto = header_get(headers, "sec-websocket-protocol")
    if proto:
        lines.append(f"sec-websocket-protocol: {proto.split(',')[0].strip()}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
    await writer.drain()
    STATS.websockets += 1
    try:
        while True:
            b0, b1 = await br.read_exactly(2)
            opcode = b0 & 0x0F
            length = b1 & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", await br.read_exactly(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", await br.read_exactly(8))
            mask = await br.read_exactly(4) if b1 & 0x80 else None
            if opcode >= 0x8:  # control frame
                payload = await br.read_exactly(length) if length else b""
                if mask:
                    payload = ws_unmask(payload, mask, 0)
                if opcode == 0x9:  # ping -> pong
                    writer.write(ws_header(0x8A, len(payload)) + payload)
                    await writer.drain()
                elif opcode == 0x8:  # close -> close, then close TCP
                    writer.write(ws_header(0x88, len(payload)) + payload)
                    await writer.drain()
                    return
                continue
            writer.write(ws_header(b0 & 0x8F, length))
            offset = 0
            while offset < length:
                data = await br.read_some(min(length - offset, DEFAULT_CHUNK))
                if not data:
                    return
                writer.write(ws_unmask(data, mask, offset) if mask else data)
                offset += len(data)
                await writer.drain()
            await writer.drain()
    except PeerGone:
        return


async def serve_raw_upgrade(br, writer, token):
    writer.write((f"HTTP/1.1 101 Switching Protocols\r\nupgrade: {token}\r\n"
                  f"connection: Upgrade\r\nx-upstream-name: {OPTS.name}\r\n\r\n").encode("latin-1"))
    await writer.drain()
    while True:
        data = await br.read_some()
        if not data:
            return
        writer.write(data)
        await writer.drain()


# ---------------------------------------------------------------- HTTP/2


class H2Stream:
    """Responder for one HTTP/2 stream."""

    def __init__(self, session, stream_id, head):
        self.session = session
        self.sid = stream_id
        self.head = head
        self.queue = asyncio.Queue()
        self.gone = False
        self.no_body = False
        self.force_close = False
        self.close_after = False
        self.ended = False
        self.request = None

    async def body(self):
        while True:
            item = await self.queue.get()
            if item is None:
                return
            data, flow_len = item
            self.session.ack(self.sid, flow_len)
            if data:
                yield data

    async def send_continue(self):
        if self.gone:
            raise PeerGone()
        self.session.conn.send_headers(self.sid, [(":status", "100")])
        await self.session.flush()

    async def start(self, status, headers, content_length, chunked=False, close=False,
                    no_body=False, user_framing=False):
        if self.gone:
            raise PeerGone()
        self.no_body = no_body or self.head
        self.close_after = close or self.force_close
        hdrs = [(":status", str(status))]
        for name, value in headers:
            hdrs.append((name.lower(), value))
        if content_length is not None:
            hdrs.append(("content-length", str(content_length)))
        self.session.conn.send_headers(self.sid, hdrs, end_stream=self.no_body)
        self.ended = self.no_body
        await self.session.flush()

    async def write(self, data):
        if self.no_body:
            return
        view = memoryview(data)
        while len(view):
            window = await self.session.wait_window(self)
            n = min(window, len(view))
            self.session.conn.send_data(self.sid, bytes(view[:n]))
            view = view[n:]
            await self.session.flush()

    async def finish(self, trailers):
        if self.gone or self.ended:
            if self.close_after:
                self.session.close_after_current()
            return
        if trailers:
            self.session.conn.send_headers(self.sid, [(n.lower(), v) for n, v in trailers],
                                           end_stream=True)
        else:
            self.session.conn.end_stream(self.sid)
        self.ended = True
        await self.session.flush()
        if self.close_after:
            self.session.close_after_current()

    async def reset(self, stage, code):
        if stage == "connection":
            await asyncio.sleep(0)
            self.session.conn_info.abort_with_rst()
            return
        if not self.gone:
            try:
                self.session.conn.reset_stream(self.sid, code)
            except h2.exceptions.StreamClosedError:
                pass
            await self.session.flush()

    def goaway(self):
        self.session.conn.close_connection(0, last_stream_id=self.sid)
        self.session.flush_nowait()


class H2Session:
    def __init__(self, conn_info, br, writer):
        self.conn_info = conn_info
        self.br = br
        self.writer = writer
        cfg = h2.config.H2Configuration(client_side=False, header_encoding="utf-8",
                                        validate_outbound_headers=False,
                                        normalize_outbound_headers=False)
        self.conn = h2.connection.H2Connection(config=cfg)
        self.streams = {}
        self.tasks = set()
        self.window_event = asyncio.Event()
        self.closing = False

    def flush_nowait(self):
        data = self.conn.data_to_send()
        if data:
            self.writer.write(data)

    async def flush(self):
        self.flush_nowait()
        try:
            await self.writer.drain()
        except (ConnectionError, OSError):
            raise PeerGone()

    def ack(self, sid, n):
        if n:
            try:
                self.conn.acknowledge_received_data(n, sid)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                pass
            self.flush_nowait()

    async def wait_window(self, stream):
        while True:
            if stream.gone or self.closing:
                raise PeerGone()
            try:
                window = min(self.conn.local_flow_control_window(stream.sid),
                             self.conn.max_outbound_frame_size)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError, KeyError):
                raise PeerGone()
            if window > 0:
                return window
            self.window_event.clear()
            await self.window_event.wait()

    def close_after_current(self):
        self.conn.close_connection(0)
        self.flush_nowait()
        self.closing = True
        try:
            self.writer.close()
        except Exception:
            pass

    def _settings(self):
        self.conn.update_settings({
            h2.settings.SettingCodes.MAX_CONCURRENT_STREAMS: 1000,
            h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 1 << 20,
        })
        self.conn.increment_flow_control_window((16 << 20) - 65535)

    async def run(self, upgrade=None):
        if upgrade is None:
            self.conn.initiate_connection()
        else:
            method, target, headers, settings_header = upgrade
            self.conn.initiate_upgrade_connection(settings_header)
        self._settings()
        self.flush_nowait()
        if upgrade is not None:
            authority = header_get(headers, "host")
            hop = {"connection", "upgrade", "http2-settings", "host", "keep-alive",
                   "transfer-encoding", "proxy-connection"}
            hdrs = [(k, v) for k, v in headers if k.lower() not in hop]
            self._start_stream(1, method, target, "http", authority, hdrs, ended=True)
        try:
            while not self.closing:
                data = await self.br.read_some(65536)
                if not data:
                    break
                try:
                    events = self.conn.receive_data(data)
                except h2.exceptions.ProtocolError as e:
                    log(f"h2 protocol error: {e}")
                    self.flush_nowait()
                    break
                for ev in events:
                    self._on_event(ev)
                self.flush_nowait()
                await self.writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            self.closing = True
            self.window_event.set()
            for st in self.streams.values():
                st.gone = True
                st.queue.put_nowait(None)
            for t in list(self.tasks):
                t.cancel()

    def _start_stream(self, sid, method, target, scheme, authority, headers, ended):
        st = H2Stream(self, sid, method == "HEAD")
        self.streams[sid] = st
        req = Request(self.conn_info, method, target, "HTTP/2", headers, st.body(), authority,
                      scheme)
        st.request = req
        if ended:
            st.queue.put_nowait(None)
        task = asyncio.ensure_future(self._run_stream(req, st))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _run_stream(self, req, st):
        try:
            await handle_request(req, st)
        except PeerGone:
            pass
        except asyncio.CancelledError:
            raise
        except Exception as e:  # a bug here must not take the session down silently
            log(f"h2 stream {st.sid} failed: {e!r}")
            if not st.gone:
                try:
                    self.conn.reset_stream(st.sid, 2)
                    self.flush_nowait()
                except Exception:
                    pass
        finally:
            self.streams.pop(st.sid, None)

    def _on_event(self, ev):
        E = h2.events
        if isinstance(ev, E.RequestReceived):
            pseudo = {}
            headers = []
            for k, v in ev.headers:
                if k.startswith(":"):
                    pseudo[k] = v
                else:
                    headers.append((k, v))
            self._start_stream(ev.stream_id, pseudo.get(":method", ""), pseudo.get(":path", ""),
                               pseudo.get(":scheme"), pseudo.get(":authority"), headers,
                               ended=False)
        elif isinstance(ev, E.DataReceived):
            st = self.streams.get(ev.stream_id)
            if st is None or st.gone:
                self.ack(ev.stream_id, ev.flow_controlled_length)
            else:
                st.queue.put_nowait((ev.data, ev.flow_controlled_length))
        elif isinstance(ev, E.TrailersReceived):
            # Arrives before StreamEnded, so the handler sees the trailers once
            # it has read the whole body.
            st = self.streams.get(ev.stream_id)
            if st is not None and st.request is not None:
                st.request.trailers.extend(ev.headers)
        elif isinstance(ev, E.StreamEnded):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st.queue.put_nowait(None)
        elif isinstance(ev, E.StreamReset):
            st = self.streams.get(ev.stream_id)
            if st is not None:
                st.gone = True
                st.queue.put_nowait(None)
            self.window_event.set()
        elif isinstance(ev, (E.WindowUpdated, E.RemoteSettingsChanged)):
            self.window_event.set()
        elif isinstance(ev, E.ConnectionTerminated):
            self.closing = True
            self.window_event.set()


async def serve_h2c_upgrade(conn, br, writer, method, target, headers, length):
    # Read (and discard) a small request body before switching: curl only
    # upgrades bodiless requests, but be correct anyway.
    remaining = length
    while remaining > 0:
        data = await br.read_some(min(remaining, DEFAULT_CHUNK))
        if not data:
            return
        remaining -= len(data)
    settings_header = header_get(headers, "http2-settings") or ""
    writer.write(b"HTTP/1.1 101 Switching Protocols\r\nconnection: Upgrade\r\nupgrade: h2c\r\n\r\n")
    await writer.drain()
    session = H2Session(conn, br, writer)
    await session.run(upgrade=(method, target, headers, settings_header.encode()))


# ---------------------------------------------------------------- server


async def on_connection(reader, writer, control_listener=False):
    conn = ConnInfo(writer, control_listener)
    CONNECTIONS.add(conn)
    try:
        writer.transport.set_write_buffer_limits(high=1 << 20)
    except Exception:
        pass
    log(f"accept #{conn.id} from {conn.peer} tls={conn.tls is not None}")
    try:
        br = BufReader(reader)
        use_h2 = False
        if OPTS.h2 and not control_listener:
            if conn.tls is not None and conn.tls.get("alpn") == "h2":
                use_h2 = True
            else:
                # Sniff the prior-knowledge preface without consuming HTTP/1.1 bytes.
                while len(br.buf) < len(H2_PREFACE) and H2_PREFACE.startswith(bytes(br.buf)):
                    try:
                        await br._fill()
                    except PeerGone:
                        return
                use_h2 = bytes(br.buf[:len(H2_PREFACE)]) == H2_PREFACE
        if use_h2:
            await H2Session(conn, br, writer).run()
        else:
            await serve_h1(conn, br, writer)
    except (PeerGone, ConnectionError, OSError, asyncio.IncompleteReadError):
        pass
    except asyncio.CancelledError:
        pass
    except Exception as e:
        log(f"connection #{conn.id} failed: {e!r}")
    finally:
        conn.closed()
        CONNECTIONS.discard(conn)
        try:
            writer.close()
        except Exception:
            pass


def make_ssl_context(opts):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(opts.cert, opts.key)
    if opts.ca:
        ctx.load_verify_locations(cafile=opts.ca)
        ctx.verify_mode = ssl.CERT_REQUIRED if opts.require_client_cert else ssl.CERT_OPTIONAL
    ctx.set_alpn_protocols(["h2", "http/1.1"] if opts.h2 else ["http/1.1"])

    def on_sni(sslobj, server_name, _ctx):
        try:
            sslobj.gh_sni = server_name
        except AttributeError:
            pass
        return None

    ctx.sni_callback = on_sni
    return ctx


async def main_async(opts):
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def quiet_handler(_loop, context):
        if opts.verbose:
            _loop.default_exception_handler(context)

    loop.set_exception_handler(quiet_handler)

    ssl_ctx = make_ssl_context(opts) if opts.tls else None
    server = await asyncio.start_server(on_connection, opts.host, opts.port, ssl=ssl_ctx,
                                        reuse_address=True, backlog=1024, limit=DEFAULT_CHUNK)
    servers = [server]
    out = {"port": server.sockets[0].getsockname()[1]}
    if opts.control_port is not None:
        control = await asyncio.start_server(
            lambda r, w: on_connection(r, w, control_listener=True), opts.host,
            opts.control_port, reuse_address=True)
        servers.append(control)
        out["control_port"] = control.sockets[0].getsockname()[1]
    print(json.dumps(out), flush=True)

    if opts.exit_with_parent:
        parent = os.getppid()

        async def watch_parent():
            while os.getppid() == parent:
                await asyncio.sleep(0.5)
            stop.set()

        asyncio.ensure_future(watch_parent())

    await stop.wait()
    for s in servers:
        s.close()
    for conn in list(CONNECTIONS):
        try:
            conn.writer.transport.abort()
        except Exception:
            pass
    await asyncio.sleep(0)


def main():
    global OPTS
    p = argparse.ArgumentParser(description="Gatehouse steerable test upstream")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--control-port", type=int, default=None)
    p.add_argument("--mode", choices=["http1", "h2c", "h2"], default="http1")
    p.add_argument("--tls", action="store_true")
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--ca")
    p.add_argument("--require-client-cert", action="store_true")
    p.add_argument("--name", default="upstream")
    p.add_argument("--exit-with-parent", action="store_true")
    p.add_argument("--verbose", action="store_true")
    opts = p.parse_args()
    opts.h2 = opts.mode in ("h2c", "h2")
    if opts.h2 and not HAVE_H2:
        p.error("--mode h2c needs python3-h2 (run with /usr/bin/python3)")
    if opts.tls and not (opts.cert and opts.key):
        p.error("--tls needs --cert and --key")
    if opts.require_client_cert and not opts.ca:
        p.error("--require-client-cert needs --ca")
    OPTS = opts
    try:
        asyncio.run(main_async(opts))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
