#!/usr/bin/python3
"""gRPC server and client for Gatehouse integration tests (Debian's
python3-grpcio, generic handlers with raw-bytes messages: no protoc needed).
Run with /usr/bin/python3.

  grpc_peer.py server [--port 0]
      Serves test.Echo on 127.0.0.1 (plaintext HTTP/2) and prints one JSON
      line {"port": N}. Methods (request and response messages are raw bytes):
        Unary          echoes the request; response metadata (initial)
                       x-echo-md = the request's x-md metadata; trailing
                       metadata x-trailer = "t1"
        ServerStream   request "N[:size]" -> N messages "i:" + size bytes
        ClientStream   -> "count:total_bytes" of the request stream
        Bidi           echoes every message as it arrives
        Slow           sleeps the request's value in ms, then echoes
        Fail           aborts with NOT_FOUND and message "no such thing"
      Exits on SIGTERM or when its parent goes away.

  grpc_peer.py client --target 127.0.0.1:PORT --call NAME [--timeout S]
                      [--authority HOST] [--count N --size B --sleep-ms MS]
      Runs one call and prints JSON {"code": "OK", "details", "result", ...}.
      NAME: unary, server-stream, client-stream, bidi, slow, fail.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
from concurrent import futures

import grpc

SERVICE = "test.Echo"


def ident(x):
    return x


def unary(request, context):
    md = dict(context.invocation_metadata())
    context.send_initial_metadata((("x-echo-md", md.get("x-md", "")),))
    context.set_trailing_metadata((("x-trailer", "t1"),))
    return request


def server_stream(request, context):
    text = request.decode()
    count, _, size = text.partition(":")
    size = int(size or "8")
    for i in range(int(count)):
        yield ("%d:" % i).encode() + b"s" * size


def client_stream(request_iterator, context):
    count = 0
    total = 0
    for message in request_iterator:
        count += 1
        total += len(message)
    return ("%d:%d" % (count, total)).encode()


def bidi(request_iterator, context):
    for message in request_iterator:
        yield message


def slow(request, context):
    time.sleep(int(request.decode()) / 1000)
    return request


def fail(request, context):
    context.abort(grpc.StatusCode.NOT_FOUND, "no such thing")


def serve(args):
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    handlers = {
        "Unary": grpc.unary_unary_rpc_method_handler(unary, ident, ident),
        "ServerStream": grpc.unary_stream_rpc_method_handler(server_stream, ident, ident),
        "ClientStream": grpc.stream_unary_rpc_method_handler(client_stream, ident, ident),
        "Bidi": grpc.stream_stream_rpc_method_handler(bidi, ident, ident),
        "Slow": grpc.unary_unary_rpc_method_handler(slow, ident, ident),
        "Fail": grpc.unary_unary_rpc_method_handler(fail, ident, ident),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    port = server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    print(json.dumps({"port": port}), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    parent = os.getppid()
    while not done.wait(0.5):
        if os.getppid() != parent:
            break
    server.stop(0)


def call(args):
    options = [("grpc.default_authority", args.authority)] if args.authority else []
    channel = grpc.insecure_channel(args.target, options=options)
    timeout = args.timeout
    out = {"call": args.call}
    start = time.monotonic()
    try:
        if args.call == "unary":
            fn = channel.unary_unary("/%s/Unary" % SERVICE, ident, ident)
            result, c = fn.with_call(args.message.encode(), timeout=timeout,
                                     metadata=(("x-md", "hello-md"),))
            out["result"] = result.decode()
            out["initial_metadata"] = [list(m) for m in c.initial_metadata()]
            out["trailing_metadata"] = [list(m) for m in c.trailing_metadata()]
        elif args.call == "server-stream":
            fn = channel.unary_stream("/%s/ServerStream" % SERVICE, ident, ident)
            messages = list(fn(("%d:%d" % (args.count, args.size)).encode(), timeout=timeout))
            out["count"] = len(messages)
            out["bytes"] = sum(len(m) for m in messages)
            out["first"] = messages[0][:8].decode() if messages else None
            out["last"] = messages[-1][:8].decode() if messages else None
        elif args.call == "client-stream":
            fn = channel.stream_unary("/%s/ClientStream" % SERVICE, ident, ident)
            gen = (b"c" * args.size for _ in range(args.count))
            out["result"] = fn(gen, timeout=timeout).decode()
        elif args.call == "bidi":
            fn = channel.stream_stream("/%s/Bidi" % SERVICE, ident, ident)
            sent = [("m%d:" % i).encode() + b"b" * args.size for i in range(args.count)]
            replies = list(fn(iter(sent), timeout=timeout))
            out["count"] = len(replies)
            out["in_order_and_equal"] = replies == sent
        elif args.call == "slow":
            fn = channel.unary_unary("/%s/Slow" % SERVICE, ident, ident)
            out["result"] = fn(str(args.sleep_ms).encode(), timeout=timeout).decode()
        elif args.call == "fail":
            fn = channel.unary_unary("/%s/Fail" % SERVICE, ident, ident)
            fn(b"x", timeout=timeout)
        else:
            raise SystemExit("unknown call " + args.call)
        out["code"] = "OK"
    except grpc.RpcError as e:
        out["code"] = e.code().name
        out["details"] = e.details()
        try:
            out["trailing_metadata"] = [list(m) for m in (e.trailing_metadata() or ())]
        except Exception:  # noqa: BLE001
            pass
    out["elapsed_ms"] = int((time.monotonic() - start) * 1000)
    channel.close()
    print(json.dumps(out))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["server", "client"])
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--target", default="")
    ap.add_argument("--authority", default="")
    ap.add_argument("--call", default="unary")
    ap.add_argument("--timeout", type=float, default=10.0)
    ap.add_argument("--message", default="ping")
    ap.add_argument("--count", type=int, default=5)
    ap.add_argument("--size", type=int, default=8)
    ap.add_argument("--sleep-ms", type=int, default=0)
    args = ap.parse_args()
    if args.mode == "server":
        serve(args)
    else:
        call(args)


if __name__ == "__main__":
    sys.exit(main())
