#!/usr/bin/python3
"""Raw HTTP/2 client for Gatehouse integration tests.

Frames are written by hand (HPACK via Debian's python3-hpack) so tests can send
what well-behaved libraries refuse to: floods, malformed header blocks,
CONTINUATION storms, HPACK bombs. Run with /usr/bin/python3. Every mode is
bounded by --timeout and prints ONE JSON object on stdout.

Modes
-----
  request      one request: --method --path --authority --header 'k: v'...
               --body-size N (pattern bytes, i % 251) --trailer 'k: v'...
               -> status, headers, trailers, body_length, body_sha256, body
               (text, < 64 KiB), resets, goaway, server_settings, elapsed_ms
  multi        --requests JSON list of {"path", "headers": [[k, v]], "method"}
               opened back to back on one connection; --sigterm-after-ms and
               --pid make the client signal a process once the streams are open
               (drain tests). -> per-stream results + goaway
  attack KIND  --count N. Kinds: rapid-reset, continuation-flood, hpack-bomb,
               big-headers, settings-flood, ping-flood, empty-data-flood,
               priority-flood, stream-error-flood, bad-headers (--case NAME).
               After the attack, when the connection is still open, a normal
               GET on the same connection (after --followup-delay-ms) reports
               whether it still works.
               -> sent, goaway {error_code, last_stream_id}, resets {sid: code},
                  statuses {sid: status}, closed, followup_status
  slow-download  --path, --header..., --seconds S: a reader with a tiny window
               (--window bytes per stream and connection) that returns
               --step-bytes every --step-ms. -> body_received, status
  upload-flood --path --seconds S: POST, DATA as fast as the windows allow for
               S seconds (never ends the stream). -> sent, stalled_ms
  websocket    --path: RFC 8441 extended CONNECT, one text message echoed,
               then a close frame. -> enable_connect_protocol, status, echo
"""

import argparse
import hashlib
import json
import os
import select
import signal
import socket
import struct
import sys
import time

import hpack

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, \
    CONTINUATION = range(10)
END_STREAM = 0x1
ACK = 0x1
END_HEADERS = 0x4
SETTINGS_INITIAL_WINDOW_SIZE = 0x4
SETTINGS_ENABLE_CONNECT_PROTOCOL = 0x8
MAX_FRAME = 16384


class Closed(Exception):
    pass


def pattern(offset, n):
    return bytes((offset + i) % 251 for i in range(n))


def hpack_int(value, prefix_bits, first_byte_flags):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first_byte_flags | value])
    out = bytearray([first_byte_flags | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name, value, indexing=False):
    """Literal header field with a new name, no Huffman."""
    name = name.encode() if isinstance(name, str) else name
    value = value.encode() if isinstance(value, str) else value
    out = bytearray(b"\x40" if indexing else b"\x00")
    out += hpack_int(len(name), 7, 0) + name
    out += hpack_int(len(value), 7, 0) + value
    return bytes(out)


def raw_request_block(method="GET", path="/", authority="test", scheme="http"):
    """A request header block that never touches the dynamic table."""
    return (literal(":method", method) + literal(":scheme", scheme) + literal(":path", path) +
            literal(":authority", authority))


class H2:
    def __init__(self, port, settings=None, timeout=5.0):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.enc = hpack.Encoder()
        self.dec = hpack.Decoder()
        self.dec.max_header_list_size = 1 << 20
        self.buf = bytearray()
        self.server_settings = {}
        self.settings_seen = False
        self.goaway = None
        self.resets = {}
        self.streams = {}
        self.closed = False
        self.auto_window = True
        self.keep_body = True
        self.conn_send_window = 65535
        self.stream_send_windows = {}
        self.peer_initial_window = 65535
        self.pending_block = None
        self.next_sid = 1
        payload = b""
        for k, v in (settings or {}).items():
            payload += struct.pack(">HI", k, v)
        self.send(PREFACE + self.frame(SETTINGS, 0, 0, payload))

    # ------------------------------------------------------------ output
    @staticmethod
    def frame(ftype, flags, sid, payload=b""):
        return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + \
            struct.pack(">I", sid & 0x7FFFFFFF) + payload

    def send(self, data):
        if self.closed:
            raise Closed()
        try:
            self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.closed = True
            raise Closed()

    def new_sid(self):
        sid = self.next_sid
        self.next_sid += 2
        return sid

    def stream(self, sid):
        return self.streams.setdefault(sid, {"headers": None, "trailers": None, "body": bytearray(),
                                             "body_length": 0, "ended": False,
                                             "sha": hashlib.sha256()})

    def send_headers(self, sid, block, end_stream=False):
        self.stream(sid)
        self.stream_send_windows.setdefault(sid, self.peer_initial_window)
        first = block[:MAX_FRAME]
        rest = block[MAX_FRAME:]
        flags = (END_STREAM if end_stream else 0) | (0 if rest else END_HEADERS)
        out = bytearray(self.frame(HEADERS, flags, sid, first))
        while rest:
            piece, rest = rest[:MAX_FRAME], rest[MAX_FRAME:]
            out += self.frame(CONTINUATION, 0 if rest else END_HEADERS, sid, piece)
        self.send(bytes(out))

    def request(self, headers, end_stream=True):
        sid = self.new_sid()
        self.send_headers(sid, self.enc.encode(headers), end_stream)
        return sid

    def send_data(self, sid, data, end_stream=False):
        self.send(self.frame(DATA, END_STREAM if end_stream else 0, sid, data))

    def send_body(self, sid, total, deadline, end_stream=True):
        """Sends `total` pattern bytes respecting both send windows."""
        sent = 0
        while sent < total:
            window = min(self.conn_send_window, self.stream_send_windows.get(sid, 0))
            if window <= 0:
                if not self.pump_once(deadline):
                    if time.monotonic() >= deadline or self.closed:
                        return sent
                continue
            n = min(window, MAX_FRAME, total - sent)
            last = end_stream and sent + n == total
            self.send_data(sid, pattern(sent, n), last)
            self.conn_send_window -= n
            self.stream_send_windows[sid] -= n
            sent += n
        if total == 0 and end_stream:
            self.send_data(sid, b"", True)
        return sent

    # ------------------------------------------------------------ input
    def read_frame(self, deadline):
        while len(self.buf) < 9 or len(self.buf) < 9 + int.from_bytes(self.buf[:3], "big"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.closed:
                return None
            ready, _, _ = select.select([self.sock], [], [], remaining)
            if not ready:
                return None
            try:
                chunk = self.sock.recv(1 << 16)
            except (ConnectionResetError, OSError):
                chunk = b""
            if not chunk:
                self.closed = True
                return None
            self.buf += chunk
        length = int.from_bytes(self.buf[:3], "big")
        ftype, flags = self.buf[3], self.buf[4]
        sid = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
        payload = bytes(self.buf[9:9 + length])
        del self.buf[:9 + length]
        return ftype, flags, sid, payload

    def pump_once(self, deadline):
        f = self.read_frame(deadline)
        if f is None:
            return False
        self.handle(*f)
        return True

    def pump(self, until, timeout):
        deadline = time.monotonic() + timeout
        while not until() and not self.closed and time.monotonic() < deadline:
            self.pump_once(deadline)
        return until()

    def handle(self, ftype, flags, sid, payload):
        if ftype == SETTINGS and not flags & ACK:
            for i in range(0, len(payload) - len(payload) % 6, 6):
                k, v = struct.unpack(">HI", payload[i:i + 6])
                self.server_settings[k] = v
                if k == SETTINGS_INITIAL_WINDOW_SIZE:
                    delta = v - self.peer_initial_window
                    self.peer_initial_window = v
                    for s in self.stream_send_windows:
                        self.stream_send_windows[s] += delta
            self.settings_seen = True
            self.safe_send(self.frame(SETTINGS, ACK, 0))
        elif ftype == PING and not flags & ACK:
            self.safe_send(self.frame(PING, ACK, 0, payload))
        elif ftype in (HEADERS, CONTINUATION):
            if ftype == HEADERS:
                pad = 0
                data = payload
                if flags & 0x8:
                    pad = data[0]
                    data = data[1:]
                if flags & 0x20:
                    data = data[5:]
                if pad:
                    data = data[:-pad]
                self.pending_block = [sid, flags, bytearray(data)]
            elif self.pending_block is not None:
                self.pending_block[2] += payload
            if flags & END_HEADERS and self.pending_block is not None:
                bsid, bflags, block = self.pending_block
                self.pending_block = None
                try:
                    fields = [(k if isinstance(k, str) else k.decode(),
                               v if isinstance(v, str) else v.decode(errors="replace"))
                              for k, v in self.dec.decode(bytes(block))]
                except Exception as e:  # noqa: BLE001 - report, never crash the test
                    fields = [("x-decode-error", repr(e))]
                st = self.stream(bsid)
                status = next((v for k, v in fields if k == ":status"), None)
                if st["headers"] is None or (st["headers"] and
                                             dict(st["headers"]).get(":status", "").startswith("1")):
                    st["headers"] = fields
                else:
                    st["trailers"] = fields
                if status is not None and status.startswith("1"):
                    st.setdefault("interim", []).append(status)
                if bflags & END_STREAM:
                    st["ended"] = True
        elif ftype == DATA:
            st = self.stream(sid)
            body = payload
            if flags & 0x8:
                pad = body[0]
                body = body[1:len(body) - pad]
            st["body_length"] += len(body)
            st["sha"].update(body)
            if self.keep_body and len(st["body"]) < 65536:
                st["body"] += body[:65536 - len(st["body"])]
            if flags & END_STREAM:
                st["ended"] = True
            if self.auto_window and payload:
                self.safe_send(self.frame(WINDOW_UPDATE, 0, 0, struct.pack(">I", len(payload))) +
                               (b"" if st["ended"] else
                                self.frame(WINDOW_UPDATE, 0, sid, struct.pack(">I", len(payload)))))
        elif ftype == RST_STREAM:
            self.resets[sid] = struct.unpack(">I", payload[:4])[0]
            self.stream(sid)["ended"] = True
        elif ftype == GOAWAY:
            last, code = struct.unpack(">II", payload[:8])
            self.goaway = {"last_stream_id": last & 0x7FFFFFFF, "error_code": code,
                           "debug": payload[8:].decode(errors="replace")}
        elif ftype == WINDOW_UPDATE:
            inc = struct.unpack(">I", payload[:4])[0] & 0x7FFFFFFF
            if sid == 0:
                self.conn_send_window += inc
            else:
                self.stream_send_windows[sid] = self.stream_send_windows.get(sid, 0) + inc

    def safe_send(self, data):
        try:
            self.send(data)
        except Closed:
            pass

    def wait_closed(self, timeout):
        """True when the server closes the TCP connection within timeout."""
        deadline = time.monotonic() + timeout
        while not self.closed and time.monotonic() < deadline:
            self.pump_once(deadline)
        return self.closed

    def status(self, sid):
        st = self.streams.get(sid)
        if not st or not st["headers"]:
            return None
        s = dict(st["headers"]).get(":status")
        return int(s) if s is not None else None

    def result(self, sid):
        st = self.stream(sid)
        out = {"status": self.status(sid), "headers": st["headers"], "trailers": st["trailers"],
               "body_length": st["body_length"], "body_sha256": st["sha"].hexdigest(),
               "ended": st["ended"], "reset": self.resets.get(sid), "interim": st.get("interim")}
        if st["body_length"] < 65536:
            out["body"] = bytes(st["body"]).decode("utf-8", errors="replace")
        return out

    def summary(self):
        return {"goaway": self.goaway, "resets": {str(k): v for k, v in self.resets.items()},
                "closed": self.closed,
                "server_settings": {str(k): v for k, v in self.server_settings.items()}}


def parse_headers(items):
    out = []
    for item in items or []:
        name, _, value = item.partition(":")
        if item.startswith(":"):  # pseudo-header ":name: value"
            name, _, value = item[1:].partition(":")
            name = ":" + name
        out.append((name.strip(), value.strip()))
    return out


def base_headers(args, method=None, path=None):
    return [(":method", method or args.method), (":scheme", "http"),
            (":authority", args.authority), (":path", path or args.path)]


# ---------------------------------------------------------------- modes

def mode_request(args):
    c = H2(args.port)
    start = time.monotonic()
    extra = parse_headers(args.header)
    trailers = parse_headers(args.trailer)
    has_body = args.body_size > 0 or bool(trailers)
    sid = c.request(base_headers(args) + extra, end_stream=not has_body)
    deadline = start + args.timeout
    if has_body:
        c.send_body(sid, args.body_size, deadline, end_stream=not trailers)
        if trailers:
            c.send_headers(sid, c.enc.encode(trailers), end_stream=True)
    c.pump(lambda: c.streams[sid]["ended"], max(0.0, deadline - time.monotonic()))
    out = c.result(sid)
    out.update(c.summary())
    out["elapsed_ms"] = int((time.monotonic() - start) * 1000)
    return out


def mode_multi(args):
    c = H2(args.port)
    specs = json.loads(args.requests)
    sids = []
    for spec in specs:
        hdrs = base_headers(args, spec.get("method", "GET"), spec["path"])
        hdrs += [tuple(h) for h in spec.get("headers", [])]
        sids.append(c.request(hdrs))
        if spec.get("pause_ms"):
            c.pump(lambda: False, spec["pause_ms"] / 1000)
    if args.sigterm_after_ms:
        c.pump(lambda: False, args.sigterm_after_ms / 1000)
        os.kill(args.pid, signal.SIGTERM)
        # A stream opened after the GOAWAY must not be processed.
        c.pump(lambda: c.goaway is not None, 2.0)
        late = None
        if c.goaway is not None and not c.closed:
            try:
                late = c.request(base_headers(args, "GET", "/late"))
            except Closed:
                late = None
    else:
        late = None
    c.pump(lambda: all(c.streams[s]["ended"] for s in sids), args.timeout)
    out = {"streams": [c.result(s) for s in sids]}
    out.update(c.summary())
    if late is not None:
        c.pump(lambda: c.streams[late]["ended"] or c.closed, 2.0)
        out["late"] = c.result(late)
        out["late_stream_id"] = late
    out["closed_at_end"] = c.wait_closed(3.0) if args.sigterm_after_ms else c.closed
    return out


def followup(c, args):
    """A normal request on the attacked connection, when it is still open."""
    if args.followup_delay_ms:
        c.pump(lambda: c.closed or c.goaway is not None, args.followup_delay_ms / 1000)
    if c.closed or c.goaway is not None:
        return None
    try:
        sid = c.new_sid()
        c.send_headers(sid, raw_request_block("GET", "/after", args.authority), end_stream=True)
    except Closed:
        return None
    c.pump(lambda: c.streams[sid]["ended"], 5.0)
    return c.status(sid)


def attack(args):
    c = H2(args.port)
    c.pump(lambda: c.settings_seen, 2.0)
    n = args.count
    sent = 0
    sids = []
    kind = args.kind
    try:
        if kind == "rapid-reset":
            batch = bytearray()
            for i in range(n):
                sid = c.new_sid()
                batch += c.frame(HEADERS, END_HEADERS | END_STREAM, sid,
                                 raw_request_block("GET", "/rr", args.authority))
                batch += c.frame(RST_STREAM, 0, sid, struct.pack(">I", 8))  # CANCEL
                sent += 1
                if len(batch) > 32768:
                    c.send(bytes(batch))
                    batch.clear()
                    while c.pump_once(time.monotonic()):
                        pass
                    if c.goaway is not None or c.closed:
                        break
            if batch and not c.closed:
                c.send(bytes(batch))
        elif kind == "continuation-flood":
            sid = c.new_sid()
            sids.append(sid)
            c.stream(sid)
            c.send(c.frame(HEADERS, 0, sid, raw_request_block("GET", "/cf", args.authority)))
            for i in range(n):
                c.send(c.frame(CONTINUATION, 0, sid, literal("x-flood-%d" % i, "v" * 100)))
                sent += 1
        elif kind == "hpack-bomb":
            sid = c.new_sid()
            sids.append(sid)
            block = bytearray(raw_request_block("GET", "/bomb", args.authority))
            block += literal("x-bomb", "a" * 4000, indexing=True)  # dynamic index 62
            block += b"\xbe" * n  # n references: n * ~4 KB decoded
            c.send_headers(sid, bytes(block), end_stream=True)
            sent = n
        elif kind == "big-headers":
            sid = c.new_sid()
            sids.append(sid)
            block = bytearray(raw_request_block("GET", "/big", args.authority))
            for i in range(n):
                block += literal("x-big-%d" % i, "b" * 1000)
            c.send_headers(sid, bytes(block), end_stream=True)
            sent = n
        elif kind == "settings-flood":
            frame = c.frame(SETTINGS, 0, 0, struct.pack(">HI", SETTINGS_INITIAL_WINDOW_SIZE, 65535))
            for i in range(0, n, 100):
                c.send(frame * min(100, n - i))
                sent += min(100, n - i)
        elif kind == "ping-flood":
            frame = c.frame(PING, 0, 0, b"12345678")
            for i in range(0, n, 100):
                c.send(frame * min(100, n - i))
                sent += min(100, n - i)
        elif kind == "priority-flood":
            frame = c.frame(PRIORITY, 0, 3, struct.pack(">IB", 0, 16))
            for i in range(0, n, 100):
                c.send(frame * min(100, n - i))
                sent += min(100, n - i)
        elif kind == "empty-data-flood":
            sid = c.new_sid()
            sids.append(sid)
            c.send_headers(sid, raw_request_block("POST", "/empty", args.authority))
            for i in range(0, n, 50):
                c.send(c.frame(DATA, 0, sid, b"") * min(50, n - i))
                sent += min(50, n - i)
        elif kind == "stream-error-flood":
            # Every request is malformed (uppercase name): the server resets
            # each one ("made you reset").
            for i in range(n):
                sid = c.new_sid()
                block = raw_request_block("GET", "/mf", args.authority) + literal("X-Bad", "1")
                c.stream(sid)
                c.send(c.frame(HEADERS, END_HEADERS | END_STREAM, sid, block))
                sent += 1
                if i % 20 == 19:
                    # Wait for the resets so the streams never exceed the
                    # concurrency limit (that is a different violation).
                    c.pump(lambda: sid in c.resets or c.goaway is not None, 2.0)
                    if c.goaway is not None or c.closed:
                        break
        elif kind == "bad-headers":
            sid = c.new_sid()
            sids.append(sid)
            c.send_headers(sid, bad_header_block(args.case, args.authority), end_stream=True)
            sent = 1
        else:
            raise SystemExit("unknown attack " + kind)
    except Closed:
        pass
    c.pump(lambda: c.closed or (c.goaway is not None) or
           (sids and all(c.streams[s]["ended"] for s in sids)), args.settle)
    out = {"kind": kind, "sent": sent,
           "statuses": {str(s): c.status(s) for s in sids}}
    out["followup_status"] = followup(c, args)
    out.update(c.summary())
    if c.goaway is not None:
        out["closed"] = c.wait_closed(3.0)
    return out


def bad_header_block(case, authority):
    m, s, p, a = (literal(":method", "GET"), literal(":scheme", "http"), literal(":path", "/x"),
                  literal(":authority", authority))
    cases = {
        "missing-path": m + s + a,
        "missing-method": s + p + a,
        "empty-path": m + s + literal(":path", "") + a,
        "unknown-pseudo": m + s + p + a + literal(":foo", "bar"),
        "pseudo-after-regular": m + s + a + literal("x-a", "1") + p,
        "duplicate-method": m + m + s + p + a,
        "response-pseudo": m + s + p + a + literal(":status", "200"),
        "uppercase": m + s + p + a + literal("X-Upper", "1"),
        "connection": m + s + p + a + literal("connection", "keep-alive"),
        "keep-alive": m + s + p + a + literal("keep-alive", "timeout=5"),
        "transfer-encoding": m + s + p + a + literal("transfer-encoding", "chunked"),
        "upgrade": m + s + p + a + literal("upgrade", "websocket"),
        "proxy-connection": m + s + p + a + literal("proxy-connection", "close"),
        "te-gzip": m + s + p + a + literal("te", "gzip"),
        "newline-value": m + s + p + a + literal("x-a", "1\r\nx-b: 2"),
    }
    return cases[case]


def mode_slow_download(args):
    window = args.window
    c = H2(args.port, settings={SETTINGS_INITIAL_WINDOW_SIZE: window})
    c.auto_window = False
    c.keep_body = False
    sid = c.request(base_headers(args) + parse_headers(args.header))
    start = time.monotonic()
    end = start + args.seconds
    next_step = start + args.step_ms / 1000
    while time.monotonic() < end and not c.closed and not c.streams[sid]["ended"]:
        c.pump_once(min(end, next_step))
        if time.monotonic() >= next_step:
            inc = struct.pack(">I", args.step_bytes)
            c.safe_send(c.frame(WINDOW_UPDATE, 0, 0, inc) + c.frame(WINDOW_UPDATE, 0, sid, inc))
            next_step += args.step_ms / 1000
    out = {"status": c.status(sid), "body_received": c.streams[sid]["body_length"],
           "ended": c.streams[sid]["ended"], "seconds": args.seconds}
    out.update(c.summary())
    return out


def mode_upload_flood(args):
    c = H2(args.port)
    c.pump(lambda: c.settings_seen, 2.0)
    sid = c.request(base_headers(args, "POST") + parse_headers(args.header), end_stream=False)
    start = time.monotonic()
    end = start + args.seconds
    sent = 0
    stalled = 0.0
    while time.monotonic() < end and not c.closed and not c.streams[sid]["ended"]:
        window = min(c.conn_send_window, c.stream_send_windows.get(sid, 0))
        if window <= 0:
            t0 = time.monotonic()
            c.pump_once(min(end, t0 + 0.05))
            stalled += time.monotonic() - t0
            continue
        n = min(window, MAX_FRAME)
        try:
            c.send_data(sid, b"u" * n)
        except Closed:
            break
        c.conn_send_window -= n
        c.stream_send_windows[sid] -= n
        sent += n
        while c.pump_once(time.monotonic()):
            pass
    out = {"sent": sent, "stalled_ms": int(stalled * 1000), "status": c.status(sid)}
    out.update(c.summary())
    return out


def mode_websocket(args):
    c = H2(args.port)
    c.pump(lambda: c.settings_seen, 2.0)
    enabled = c.server_settings.get(SETTINGS_ENABLE_CONNECT_PROTOCOL) == 1
    sid = c.new_sid()
    block = (literal(":method", "CONNECT") + literal(":protocol", "websocket") +
             literal(":scheme", "http") + literal(":path", args.path) +
             literal(":authority", args.authority) + literal("sec-websocket-version", "13"))
    c.send_headers(sid, block, end_stream=False)
    c.pump(lambda: c.streams[sid]["headers"] is not None or c.streams[sid]["ended"], args.timeout)
    out = {"enable_connect_protocol": enabled, "status": c.status(sid),
           "headers": c.streams[sid]["headers"]}
    if out["status"] == 200:
        message = b"hello over h2 websocket"
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(message))
        c.send_data(sid, bytes([0x81, 0x80 | len(message)]) + mask + masked)
        st = c.streams[sid]
        c.pump(lambda: len(st["body"]) >= 2 + len(message), args.timeout)
        frame = bytes(st["body"])
        out["echo_opcode"] = frame[0] & 0x0F if frame else None
        out["echo"] = frame[2:2 + (frame[1] & 0x7F)].decode(errors="replace") if frame else None
        before = len(st["body"])
        close = bytes([0x88, 0x82]) + mask + bytes(b ^ mask[i] for i, b in enumerate(b"\x03\xe8"))
        c.send_data(sid, close, end_stream=True)
        c.pump(lambda: st["ended"], args.timeout)
        rest = bytes(st["body"][before:])
        out["close_opcode"] = rest[0] & 0x0F if rest else None
        out["ended"] = st["ended"]
        out["reset"] = c.resets.get(sid)
    out.update(c.summary())
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode")
    ap.add_argument("kind", nargs="?")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--method", default="GET")
    ap.add_argument("--path", default="/")
    ap.add_argument("--authority", default="test.local")
    ap.add_argument("--header", action="append")
    ap.add_argument("--trailer", action="append")
    ap.add_argument("--body-size", type=int, default=0)
    ap.add_argument("--requests", default="[]")
    ap.add_argument("--sigterm-after-ms", type=int, default=0)
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--case", default="")
    ap.add_argument("--settle", type=float, default=3.0)
    ap.add_argument("--followup-delay-ms", type=int, default=0)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--window", type=int, default=16384)
    ap.add_argument("--step-bytes", type=int, default=16384)
    ap.add_argument("--step-ms", type=int, default=100)
    ap.add_argument("--timeout", type=float, default=10.0)
    args = ap.parse_args()
    modes = {"request": mode_request, "multi": mode_multi, "attack": attack,
             "slow-download": mode_slow_download, "upload-flood": mode_upload_flood,
             "websocket": mode_websocket}
    try:
        out = modes[args.mode](args)
    except (ConnectionRefusedError, socket.timeout) as e:
        out = {"error": repr(e)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
