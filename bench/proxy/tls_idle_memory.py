#!/usr/bin/env python3
"""RSS per idle downstream TLS connection: Gatehouse beside nginx and HAProxy.

    python3 bench/proxy/tls_idle_memory.py [--connections 2000] [--gatehouse build/gatehouse]

Each proxy (1 worker, the same ECDSA P-256 certificate, TLS 1.3) gets N
client connections that complete the handshake and then stay idle. The
proxy's RSS (its worker process) is read before and after; the difference
divided by N is the cost of one idle TLS connection (kernel socket memory is
not in RSS). Everything runs on 127.0.0.1 with ports picked at run time;
every process started here is stopped by PID on exit.
"""
import argparse, os, shutil, socket, ssl, subprocess, sys, tempfile, time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_port(port, proc, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def measure(name, port, worker_pid, n):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    # Warm up allocator pools so the baseline is not an empty process.
    warm = [ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                            server_hostname="bench.test") for _ in range(50)]
    for s in warm:
        s.close()
    time.sleep(0.5)
    before = rss_kib(worker_pid)
    conns = []
    for _ in range(n):
        s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)),
                            server_hostname="bench.test")
        conns.append(s)
    time.sleep(1.0)  # let the proxy settle (post-handshake tickets, timers)
    after = rss_kib(worker_pid)
    for s in conns:
        s.close()
    per = (after - before) / n
    print(f"{name:10s} {n:6d} idle TLS connections: RSS {before} -> {after} KiB, "
          f"{per:.1f} KiB per connection", flush=True)
    return per


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--gatehouse", default="build/gatehouse")
    args = ap.parse_args()
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 65536), hard))
    work = tempfile.mkdtemp(prefix="gh-tls-idle-")
    procs = []
    try:
        crt, key = f"{work}/bench.crt", f"{work}/bench.key"
        subprocess.run(["openssl", "req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:prime256v1", "-keyout", key, "-out", crt, "-days", "2",
                        "-subj", "/CN=bench.test", "-addext", "subjectAltName=DNS:bench.test"],
                       check=True, capture_output=True)
        with open(f"{work}/bench.pem", "w") as out:
            out.write(open(crt).read() + open(key).read())
        results = {}

        # Gatehouse
        port, admin = free_port(), free_port()
        with open(f"{work}/g.toml", "w") as f:
            f.write(f"""[proxy]
workers = 1
access_log = "off"
[admin]
address = "127.0.0.1:{admin}"
[[gateway]]
name = "edge"
[[gateway.servers]]
port = {{ number = {port}, name = "https", protocol = "HTTPS" }}
hosts = ["*"]
tls = {{ mode = "SIMPLE", server_certificate = "{crt}", private_key = "{key}" }}
[[virtual_service]]
name = "r"
hosts = ["*"]
gateways = ["edge"]
[[virtual_service.http]]
direct_response = {{ status = 200, body = {{ string = "ok" }} }}
""")
        p = subprocess.Popen([args.gatehouse, "run", "-c", f"{work}/g.toml"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(p)
        if wait_port(port, p):
            results["gatehouse"] = measure("gatehouse", port, p.pid, args.connections)
        else:
            print("gatehouse did not start", file=sys.stderr)

        # nginx: 1 worker; its RSS is the worker's.
        if shutil.which("nginx"):
            port = free_port()
            os.makedirs(f"{work}/n", exist_ok=True)
            with open(f"{work}/n/nginx.conf", "w") as f:
                f.write(f"""worker_processes 1; daemon off; pid {work}/n/nginx.pid;
error_log {work}/n/error.log warn;
events {{ worker_connections 65536; }}
worker_rlimit_nofile 65536;
http {{ access_log off; client_body_temp_path {work}/n/cb; proxy_temp_path {work}/n/p;
fastcgi_temp_path {work}/n/f; uwsgi_temp_path {work}/n/u; scgi_temp_path {work}/n/s;
keepalive_timeout 300s;
server {{ listen 127.0.0.1:{port} ssl; ssl_certificate {crt}; ssl_certificate_key {key};
ssl_protocols TLSv1.2 TLSv1.3; location / {{ return 200 "ok"; }} }} }}
""")
            p = subprocess.Popen(["nginx", "-c", f"{work}/n/nginx.conf", "-p", f"{work}/n"],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(p)
            if wait_port(port, p):
                time.sleep(0.3)
                kids = subprocess.run(["pgrep", "-P", str(p.pid)], capture_output=True,
                                      text=True).stdout.split()
                if kids:
                    results["nginx"] = measure("nginx", port, int(kids[0]), args.connections)

        # HAProxy: one thread, its only process.
        if shutil.which("haproxy"):
            port = free_port()
            with open(f"{work}/h.cfg", "w") as f:
                f.write(f"""global
  nbthread 1
  maxconn 8000
defaults
  mode http
  timeout client 300s
  timeout server 30s
  timeout connect 5s
  timeout http-keep-alive 300s
frontend fe
  bind 127.0.0.1:{port} ssl crt {work}/bench.pem
  http-request return status 200 content-type text/plain string ok
""")
            p = subprocess.Popen(["haproxy", "-f", f"{work}/h.cfg"],
                                 stdout=subprocess.DEVNULL, stderr=open(f"{work}/h.log", "w"))
            procs.append(p)
            if wait_port(port, p):
                results["haproxy"] = measure("haproxy", port, p.pid, args.connections)
            else:
                print("haproxy did not start: " + open(f"{work}/h.log").read(), file=sys.stderr)
        if "gatehouse" in results:
            base = results["gatehouse"]
            for name, per in results.items():
                print(f"ratio {name}/gatehouse: {per / base:.2f}")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
