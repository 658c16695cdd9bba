#!/usr/bin/python3
"""A fake Crontopus control plane for the agent's tests.

It enforces control-plane-protocol.md the way the deployed server does (FastAPI/pydantic):
403 without a Bearer header, 422 with a `detail` list for schema errors (an integer field given
a fraction included), 401 for an unknown token, 404 for an unknown endpoint, 201 vs 200 per
route, and a plain-text 500 for an unknown job-instance status or source. It records every
request and can be told to fail.

Usage: fake_control_plane.py [--cert FILE --key FILE]
Prints "PORTS <api port> <control port>" once both listen on 127.0.0.1.

The control port (plain HTTP) takes:
  GET  /records              every request seen: method, path, headers, body, status
  GET  /checkins             the accepted check-ins, in arrival order (with run_id)
  GET  /state                endpoints and job instances
  POST /control {"action": ...}
       down | up                          close / reopen the API socket (connection refused)
       fail {status, count, route, retry_after}   answer the next `count` matching requests
       hang {route, count, after}         hold matching requests (after the first `after`)
                                          without committing them
       hang_after_commit {count, after}   store matching check-ins, then hold the answer
       release                            let held requests go (closed without an answer)
       delete_endpoint {id}
       id_field {value: agent_id|endpoint_id|both}   shape of the enrollment answer
       add_enrollment_token {token, expired}
"""
import argparse
import json
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
RECORDS = []
CHECKINS = []
ENDPOINTS = {}        # id -> {"token", "machine_id", "name", "heartbeats"}
BY_MACHINE = {}
INSTANCES = {}        # id -> list
ENROLLMENT_TOKENS = {"enroll-secret": False}   # token -> expired
FAILS = []            # dicts: status, count, route, retry_after
HANGS = []            # dicts: route, count, after
COMMIT_HANGS = []     # dicts: count, after (check-ins stored, answer held)
HELD = []             # threading.Event per held request
CONNECTIONS = set()
STATE = {"next_id": 41, "next_run": 1, "id_field": "agent_id"}


def missing(field):
    return {"loc": ["body", field], "msg": "field required", "type": "value_error.missing"}


def wrong_type(field, kind):
    return {"loc": ["body", field], "msg": "value is not a valid " + kind,
            "type": "type_error." + kind}


def check_fields(body, spec, prefix=("body",)):
    """spec: name -> (kind, required). kinds: str, int. Mirrors pydantic's strict-ish checks."""
    errors = []
    if not isinstance(body, dict):
        return [{"loc": list(prefix), "msg": "value is not a valid dict", "type": "type_error.dict"}]
    for name, (kind, required) in spec.items():
        loc = list(prefix) + [name]
        if name not in body or body[name] is None:
            if required:
                errors.append({"loc": loc, "msg": "field required", "type": "value_error.missing"})
            continue
        value = body[name]
        if kind == "str" and not isinstance(value, str):
            errors.append({"loc": loc, "msg": "str type expected", "type": "type_error.str"})
        if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            errors.append({"loc": loc, "msg": "value is not a valid integer",
                           "type": "type_error.integer"})
    return errors


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "fake-crontopus/1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without this each answer on a kept-alive
        # connection waits for the client's delayed ACK.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        with LOCK:
            CONNECTIONS.add(self.connection)

    def finish(self):
        with LOCK:
            CONNECTIONS.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status, payload, content_type="application/json", headers=None):
        data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)
        return status

    def _bearer(self):
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        scheme, _, credentials = auth.partition(" ")
        if scheme.lower() != "bearer" or not credentials or " " in credentials.strip():
            return None
        return credentials

    def do_GET(self):
        self._record(b"", self._send(405, {"detail": "Method Not Allowed"}))

    def do_POST(self):
        raw = self._body()
        record = self._record(raw, None)
        status = self._route(raw)
        with LOCK:
            record["status"] = status

    def _record(self, raw, status):
        entry = {"time": time.time(), "method": self.command, "path": self.path,
                 "headers": {k: v for k, v in self.headers.items()},
                 "body": raw.decode("utf-8", "replace"), "status": status}
        with LOCK:
            RECORDS.append(entry)
        return entry

    def _injected(self):
        with LOCK:
            for rule in HANGS:
                if rule["count"] > 0 and self.path.startswith(rule["route"]):
                    if rule["after"] > 0:
                        rule["after"] -= 1
                        continue
                    rule["count"] -= 1
                    event = threading.Event()
                    HELD.append(event)
                    break
            else:
                event = None
            if event is None:
                for rule in FAILS:
                    if rule["count"] > 0 and self.path.startswith(rule["route"]):
                        rule["count"] -= 1
                        return dict(rule)
        if event is not None:
            event.wait(120)
            self.close_connection = True
            return {"status": 0}
        return None

    def _route(self, raw):
        rule = self._injected()
        if rule is not None:
            if rule["status"] == 0:
                return 0   # held, then dropped without an answer: never committed
            headers = {}
            if rule.get("retry_after") is not None:
                headers["Retry-After"] = str(rule["retry_after"])
            if rule["status"] >= 500:
                return self._send(rule["status"], b"Service Unavailable", "text/plain", headers)
            return self._send(rule["status"], {"detail": "Rate limit exceeded"}, headers=headers)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            return self._send(422, {"detail": [{"loc": ["body", 0], "msg": "Expecting value",
                                                "type": "value_error.jsondecode"}]})
        if self.path == "/api/endpoints/enroll":
            return self._enroll(body)
        if self.path == "/api/runs/check-in":
            return self._checkin(body)
        m = re.fullmatch(r"/api/endpoints/(\d+)/(heartbeat|job-instances)", self.path)
        if m:
            if m.group(2) == "heartbeat":
                return self._heartbeat(int(m.group(1)), body)
            return self._instances(int(m.group(1)), body)
        return self._send(404, {"detail": "Not Found"})

    def _enroll(self, body):
        token = self._bearer()
        if token is None:
            return self._send(403, {"detail": "Not authenticated"})
        errors = check_fields(body, {"name": ("str", True), "hostname": ("str", False),
                                     "machine_id": ("str", False), "platform": ("str", False),
                                     "version": ("str", False), "git_repo_url": ("str", False),
                                     "git_branch": ("str", False)})
        if errors:
            return self._send(422, {"detail": errors})
        with LOCK:
            if token not in ENROLLMENT_TOKENS:
                return self._send(401, {"detail": "Invalid enrollment token"})
            if ENROLLMENT_TOKENS[token]:
                return self._send(401, {"detail": "Enrollment token expired or usage limit exceeded"})
            machine = body.get("machine_id")
            endpoint_id = BY_MACHINE.get(machine) if machine else None
            if endpoint_id is None or endpoint_id not in ENDPOINTS:
                endpoint_id = STATE["next_id"]
                STATE["next_id"] += 1
            new_token = "ept_" + uuid.uuid4().hex
            ENDPOINTS[endpoint_id] = {"token": new_token, "machine_id": machine,
                                      "name": body["name"], "heartbeats": 0, "enrollment": body}
            if machine:
                BY_MACHINE[machine] = endpoint_id
            answer = {"token": new_token, "message": "Endpoint enrolled successfully"}
            if STATE["id_field"] in ("agent_id", "both"):
                answer["agent_id"] = endpoint_id
            if STATE["id_field"] in ("endpoint_id", "both"):
                answer["endpoint_id"] = endpoint_id
            if STATE["id_field"] == "both":
                answer["agent_id"] = 0
        return self._send(201, answer)

    def _heartbeat(self, endpoint_id, body):
        if not isinstance(body, dict):
            return self._send(422, {"detail": [{"loc": ["body"], "msg": "value is not a valid dict",
                                                "type": "type_error.dict"}]})
        errors = check_fields(body, {"status": ("str", False), "platform": ("str", False),
                                     "version": ("str", False)})
        if errors:
            return self._send(422, {"detail": errors})
        with LOCK:
            if endpoint_id not in ENDPOINTS:
                return self._send(404, {"detail": "Endpoint not found"})
            ENDPOINTS[endpoint_id]["heartbeats"] += 1
        return self._send(200, {"message": "Heartbeat recorded", "endpoint_id": endpoint_id})

    def _endpoint_auth(self, endpoint_id):
        """None when fine, else the status already sent."""
        token = self._bearer()
        if token is None:
            return self._send(403, {"detail": "Not authenticated"})
        with LOCK:
            endpoint = ENDPOINTS.get(endpoint_id)
            if endpoint is None:
                return self._send(404, {"detail": "Endpoint not found"})
            if endpoint["token"] != token:
                return self._send(401, {"detail": "Invalid endpoint token"})
        return None

    def _instances(self, endpoint_id, body):
        if self._bearer() is None:
            return self._send(403, {"detail": "Not authenticated"})
        errors = check_fields(body, {"instances": ("list", True)})
        if not errors and not isinstance(body["instances"], list):
            errors = [{"loc": ["body", "instances"], "msg": "value is not a valid list",
                       "type": "type_error.list"}]
        if not errors:
            for i, item in enumerate(body["instances"]):
                errors += check_fields(item, {"job_name": ("str", True), "namespace": ("str", True),
                                              "status": ("str", True), "source": ("str", True),
                                              "original_command": ("str", False)},
                                       ("body", "instances", i))
        if errors:
            return self._send(422, {"detail": errors})
        for item in body["instances"]:
            if item["status"] not in ("scheduled", "paused", "error", "running") or \
                    item["source"] != "crontopus":
                return self._send(500, b"Internal Server Error", "text/plain; charset=utf-8")
        status = self._endpoint_auth(endpoint_id)
        if status is not None:
            return status
        with LOCK:
            INSTANCES[endpoint_id] = body["instances"]
        return self._send(200, {"message": "Job instances updated",
                                "instances_updated": len(body["instances"]),
                                "endpoint_id": endpoint_id})

    def _checkin(self, body):
        if self._bearer() is None:
            return self._send(403, {"detail": "Not authenticated"})
        errors = check_fields(body, {"endpoint_id": ("int", True), "job_name": ("str", True),
                                     "namespace": ("str", True), "status": ("str", True),
                                     "exit_code": ("int", False), "duration": ("int", False),
                                     "output": ("str", False), "error_message": ("str", False)})
        if not errors:
            if body["status"] not in ("success", "failure", "timeout", "cancelled"):
                errors.append({"loc": ["body", "status"], "msg": "unexpected value",
                               "type": "value_error.const"})
            if len(body.get("output") or "") > 10000:
                errors.append({"loc": ["body", "output"],
                               "msg": "ensure this value has at most 10000 characters",
                               "type": "value_error.any_str.max_length"})
        if errors:
            return self._send(422, {"detail": errors})
        status = self._endpoint_auth(body["endpoint_id"])
        if status is not None:
            return status
        event = None
        with LOCK:
            run_id = STATE["next_run"]
            STATE["next_run"] += 1
            CHECKINS.append({"run_id": run_id, "body": body, "time": time.time()})
            for rule in COMMIT_HANGS:
                if rule["count"] > 0:
                    if rule["after"] > 0:
                        rule["after"] -= 1
                        continue
                    rule["count"] -= 1
                    event = threading.Event()
                    HELD.append(event)
                    break
        if event is not None:
            event.wait(120)   # stored, but the client never hears of it
            self.close_connection = True
            return 0
        return self._send(201, {"run_id": run_id, "message": "Check-in recorded"})


class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def _send(self, payload):
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with LOCK:
            if self.path == "/records":
                return self._send(RECORDS)
            if self.path == "/checkins":
                return self._send(CHECKINS)
            if self.path == "/state":
                return self._send({"endpoints": {str(k): v for k, v in ENDPOINTS.items()},
                                   "instances": {str(k): v for k, v in INSTANCES.items()},
                                   "held": len(HELD)})
        self.send_error(404)

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        command = json.loads(self.rfile.read(length) or b"{}")
        action = command.get("action")
        api = self.server.api
        if action == "down":
            api.stop()
        elif action == "up":
            api.start()
        else:
            with LOCK:
                if action == "fail":
                    FAILS.append({"status": command["status"], "count": command.get("count", 1),
                                  "route": command.get("route", "/"),
                                  "retry_after": command.get("retry_after")})
                elif action == "hang":
                    HANGS.append({"route": command.get("route", "/"),
                                  "count": command.get("count", 1),
                                  "after": command.get("after", 0)})
                elif action == "hang_after_commit":
                    COMMIT_HANGS.append({"count": command.get("count", 1),
                                         "after": command.get("after", 0)})
                elif action == "release":
                    HANGS.clear()
                    COMMIT_HANGS.clear()
                    for event in HELD:
                        event.set()
                    HELD.clear()
                elif action == "delete_endpoint":
                    ENDPOINTS.pop(int(command["id"]), None)
                elif action == "id_field":
                    STATE["id_field"] = command["value"]
                elif action == "add_enrollment_token":
                    ENROLLMENT_TOKENS[command["token"]] = bool(command.get("expired"))
                else:
                    self.send_error(400)
                    return
        self._send({"ok": True})


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass   # failed TLS handshakes and dropped connections are part of the tests


class Api:
    """The API listener, which can be closed and reopened on the same port."""

    def __init__(self, tls):
        self.tls = tls
        self.port = 0
        self.server = None
        self.thread = None

    def start(self):
        if self.server is not None:
            return
        server = QuietServer(("127.0.0.1", self.port), Handler)
        if self.tls is not None:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self):
        if self.server is None:
            return
        self.server.shutdown()
        self.server.server_close()
        self.server = None
        with LOCK:
            for connection in list(CONNECTIONS):
                try:
                    connection.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--cert")
    parser.add_argument("--key")
    args = parser.parse_args()
    tls = None
    if args.cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.cert, args.key)
    api = Api(tls)
    api.start()
    control = ThreadingHTTPServer(("127.0.0.1", 0), ControlHandler)
    control.daemon_threads = True
    control.api = api
    print("PORTS %d %d" % (api.port, control.server_address[1]), flush=True)
    try:
        control.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
