#!/usr/bin/python3
"""Smart-HTTP git server for the git plugin tests: git http-backend behind Basic auth.

Counts requests so that tests can assert what a sync cost, and can stall an upload-pack
response to simulate a server dying mid-fetch. The password comes from the environment
(GIT_TEST_PASSWORD), never from argv.

GET /_stats returns the counters as JSON (no auth). Usage:
  git_http_server.py --port P --root DIR [--user U] [--tls-cert C --tls-key K]
                     [--stall-after-bytes N] [--ready-file F] [--fault-file F]

With --fault-file, every git request first reads that file (missing or empty: no fault):
  hang        hold the request without answering until the file changes, then drop it
  slow S      wait S seconds (a float), then answer normally
  garbage     answer 200 with random bytes as the git payload
"""
import argparse
import base64
import json
import os
import ssl
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

stats_lock = threading.Lock()
stats = {"total": 0, "info_refs": 0, "info_refs_ok": 0, "upload_pack": 0,
         "unauthorized": 0, "bad_credentials": 0, "stalled": 0, "hung": 0, "slowed": 0,
         "garbage": 0}


def bump(key):
    with stats_lock:
        stats[key] += 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def do_GET(self):
        if self.path == "/_stats":
            with stats_lock:
                body = json.dumps(stats).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        self.handle_git("GET")

    def do_POST(self):
        self.handle_git("POST")

    def authorised(self):
        if not self.server.user:
            return True
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            bump("unauthorized")
            return False
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except Exception:
            user, password = "", ""
        if user == self.server.user and password == self.server.password:
            return True
        bump("bad_credentials")
        return False

    def fault(self):
        """Applies --fault-file; True when the request was answered (or dropped) by the fault."""
        path = self.server.fault_file
        if not path:
            return False
        def current():
            try:
                with open(path) as f:
                    return f.read().strip()
            except OSError:
                return ""
        mode = current()
        if mode == "hang":
            bump("hung")
            while current() == "hang":
                time.sleep(0.05)
            self.close_connection = True
            return True
        if mode.startswith("slow "):
            bump("slowed")
            time.sleep(float(mode.split()[1]))
            return False
        if mode == "garbage":
            bump("garbage")
            payload = os.urandom(4096)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-git-upload-pack-advertisement")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return True
        return False

    def handle_git(self, method):
        bump("total")
        if self.fault():
            return
        path, _, query = self.path.partition("?")
        length = int(self.headers.get("Content-Length", "0") or "0")
        body = self.rfile.read(length) if length else b""
        if not self.authorised():
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="git"')
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path.endswith("/info/refs"):
            bump("info_refs")
        if path.endswith("/git-upload-pack"):
            bump("upload_pack")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "GIT_PROJECT_ROOT": self.server.root,
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "CONTENT_TYPE": self.headers.get("Content-Type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": self.server.user or "anonymous",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
        }
        proc = subprocess.run(["git", "http-backend"], input=body, env=env,
                              capture_output=True, check=False)
        head, _, payload = proc.stdout.partition(b"\r\n\r\n")
        status = 200
        headers = []
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            if name.lower() == "status":
                status = int(value.strip().split()[0])
            elif name:
                headers.append((name, value.strip()))
        if path.endswith("/info/refs") and status == 200:
            bump("info_refs_ok")
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        stall = self.server.stall_after_bytes
        if stall is not None and path.endswith("/git-upload-pack"):
            self.wfile.write(payload[:stall])
            self.wfile.flush()
            bump("stalled")
            while True:  # the test kills us now
                time.sleep(3600)
        self.wfile.write(payload)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--root", required=True)
    parser.add_argument("--user", default="")
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--stall-after-bytes", type=int)
    parser.add_argument("--ready-file")
    parser.add_argument("--fault-file")
    args = parser.parse_args()
    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    # listen(5), the default, drops connections when many clients poll at once (bench/fleet).
    ThreadingHTTPServer.request_queue_size = 128
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.root = args.root
    server.user = args.user
    server.password = os.environ.get("GIT_TEST_PASSWORD", "")
    server.stall_after_bytes = args.stall_after_bytes
    server.fault_file = args.fault_file
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    if args.ready_file:
        with open(args.ready_file, "w") as ready:
            ready.write("ready\n")
    server.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
