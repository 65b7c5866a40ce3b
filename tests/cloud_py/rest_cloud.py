#!/usr/bin/python3
"""An independent CarniTrack REST cloud on Debian's python3 standard library.

It serves the edge REST API of shared/protocol/REST_API.md with a stack we did
not write (http.server, HTTP/1.1 keep-alive, one thread per connection), so
that lib/http and lib/rest are proven against more than carnitrack-cloudsim:

  POST <base>/edge/register        edgeId null -> new UUID v4; known -> same;
                                   malformed -> 400; unknown -> 404
  POST <base>/activate             --activation-code CODE, single use
  GET  <base>/edge/config          intervals and maxBatchSize
  GET  <base>/edge/sessions        full state for ?device_ids=, ETag and 304
  POST <base>/edge/events          dedupe by localEventId (accepted/duplicate)
  POST <base>/edge/events/batch    one result per event; over the limit -> 413
  POST <base>/edge/offline-batches/ack   idempotent, original receivedAt
  POST <base>/edge/heartbeat, <base>/edge/devices/status   {"ok":true}

Every /edge path but /register needs a known X-Edge-Id (401 "unknown_edge" or
"Missing X-Edge-Id"). --snake answers /register and /activate in snake_case.
--hide-limit leaves maxBatchSize out of /config, as the old cloud did: the
edge learns the batch limit from a 413.

    /usr/bin/python3 tests/cloud_py/rest_cloud.py PORT --control CPORT
        [--base /api/v1] [--batch-limit N] [--intervals IDLE,WAITING,ACTIVE,HB]
        [--activation-code CODE] [--snake] [--hide-limit]

Prints "listening PORT" when ready and "event <localEventId> <status>" per
event. The control port takes the commands of carnitrack-cloudsim --rest, one
per line, each answered with one line: start SCALE [tag], end SCALE, pause
[SCALE], resume [SCALE], forget, fail STATUS [COUNT [RETRY_AFTER]], drop (a
no-op here: http.server owns its connections), stats, quit.
"""
import argparse
import datetime
import hashlib
import json
import re
import signal
import socketserver
import sys
import threading
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

UUID_RE = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}"
                     r"-[0-9a-fA-F]{12}$")
MAX_BODY = 8 * 1024 * 1024

lock = threading.Lock()
state = {
    "edges": {},          # edgeId -> {siteId, siteName}
    "events": {},         # localEventId -> cloudEventId
    "acks": {},           # batchId -> {receivedAt, eventIds}
    "sessions": {},       # deviceId -> session dict
    "fail": [],           # scripted statuses: [status, retry_after]
    "codes": set(),
}
stats = {"accepted": 0, "duplicates": 0, "rejected": 0, "events": 0, "batches": 0,
         "batch_events": 0, "requests": 0, "not_modified": 0, "unauthorized": 0,
         "registers": 0, "heartbeats": 0, "device_status": 0, "scripted": 0,
         "too_large": 0, "batch_acks": 0, "ack_ids": 0, "ack_ids_unknown": 0}


def now_iso():
    t = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    return t.replace("+00:00", "Z")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"     # keep-alive
    server_version = "rest-cloud-py/1"

    def log_message(self, fmt, *args):   # quiet: one line per event is printed instead
        pass

    def send_json(self, status, obj, headers=None):
        body = b"" if obj is None else json.dumps(obj, separators=(",", ":")).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header("Content-Type", "application/json; charset=utf-8")
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if body:
            self.wfile.write(body)

    def read_json(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(n) if n else b""
        return json.loads(raw) if raw else None

    def route(self):
        base = self.server.base
        path = urllib.parse.urlsplit(self.path).path
        if path == base + "/activate":
            return "activate"
        if path.startswith(base + "/edge/"):
            return path[len(base) + 6:]
        return None

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def handle_any(self, method):
        with lock:
            stats["requests"] += 1
            scripted = state["fail"].pop(0) if state["fail"] else None
        try:
            body = self.read_json() if method == "POST" else None
        except (ValueError, UnicodeDecodeError) as e:
            return self.send_json(400, {"error": "unparsable body: %s" % e})
        if scripted is not None:
            status, retry_after = scripted
            with lock:
                stats["scripted"] += 1
            hdr = {"Retry-After": str(retry_after)} if retry_after is not None else {}
            return self.send_json(status, {"error": "scripted %d" % status}, hdr)
        r = self.route()
        if r is None:
            return self.send_json(404, {"error": "Not found"})
        if r == "register" and method == "POST":
            return self.register(body)
        if r == "activate" and method == "POST":
            return self.activate(body)
        edge = self.headers.get("X-Edge-Id")
        with lock:
            known = edge is not None and edge in state["edges"]
            if not known:
                stats["unauthorized"] += 1
        if edge is None:
            return self.send_json(401, {"error": "Missing X-Edge-Id"})
        if not known:
            return self.send_json(401, {"error": "unknown_edge", "message": "edge not registered"})
        handlers = {
            ("GET", "config"): self.config,
            ("GET", "sessions"): self.sessions,
            ("POST", "events"): self.event,
            ("POST", "events/batch"): self.batch,
            ("POST", "offline-batches/ack"): self.ack,
            ("POST", "heartbeat"): self.heartbeat,
            ("POST", "devices/status"): self.device_status,
        }
        h = handlers.get((method, r))
        if h is None:
            return self.send_json(404, {"error": "Not found"})
        return h(body)

    # ---- identity

    def identity(self, edge_id, site_id, site_name):
        keys = ("edge_id", "site_id", "site_name") if self.server.snake else \
            ("edgeId", "siteId", "siteName")
        return {keys[0]: edge_id, keys[1]: site_id, keys[2]: site_name,
                "config": self.server.config}

    def register(self, body):
        if not isinstance(body, dict):
            return self.send_json(400, {"error": "body must be a JSON object"})
        edge_id = body.get("edgeId")
        site_id = body.get("siteId") or "site-py"
        site_name = body.get("siteName") or "Python REST cloud"
        with lock:
            stats["registers"] += 1
            if edge_id is None:
                edge_id = str(uuid.uuid4())
                state["edges"][edge_id] = {"siteId": site_id, "siteName": site_name}
            elif not isinstance(edge_id, str) or not UUID_RE.match(edge_id):
                return self.send_json(400, {"error": "Invalid edgeId format; must be a valid UUID"})
            elif edge_id not in state["edges"]:
                return self.send_json(404, {"error": "Edge not found"})
            e = state["edges"][edge_id]
        print("register", edge_id, flush=True)
        return self.send_json(200, self.identity(edge_id, e["siteId"], e["siteName"]))

    def activate(self, body):
        code = body.get("code") if isinstance(body, dict) else None
        with lock:
            if not isinstance(code, str) or code not in state["codes"]:
                return self.send_json(404, {"error": "Invalid or expired setup code"})
            state["codes"].discard(code)
            edge_id = str(uuid.uuid4())
            state["edges"][edge_id] = {"siteId": "site-act", "siteName": "Activated site"}
        print("activate", edge_id, flush=True)
        return self.send_json(200, self.identity(edge_id, "site-act", "Activated site"))

    # ---- edge paths

    def config(self, _):
        return self.send_json(200, self.server.config)

    def sessions(self, _):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        ids = [i for v in q.get("device_ids", []) for i in v.split(",") if i]
        with lock:
            lst = [dict(state["sessions"][d]) for d in ids if d in state["sessions"]]
        body = json.dumps({"sessions": lst}, separators=(",", ":"), sort_keys=True)
        etag = '"sessions-%s"' % hashlib.sha1(body.encode()).hexdigest()[:16]
        if self.headers.get("If-None-Match") == etag:
            with lock:
                stats["not_modified"] += 1
            self.send_response(304)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return None
        return self.send_json(200, {"sessions": lst},
                              {"ETag": etag, "Cache-Control": "no-cache"})

    def judge(self, ev):
        """One event: (localEventId, result dict)."""
        lid = ev.get("localEventId") if isinstance(ev, dict) else None
        if not isinstance(lid, str) or not UUID_RE.match(lid):
            with lock:
                stats["rejected"] += 1
            return lid, {"localEventId": lid, "cloudEventId": "", "status": "failed",
                         "error": "invalid localEventId"}
        missing = [k for k in ("deviceId", "pluCode", "weightGrams") if k not in ev]
        if missing or not isinstance(ev.get("weightGrams"), int):
            with lock:
                stats["rejected"] += 1
            return lid, {"localEventId": lid, "cloudEventId": "", "status": "failed",
                         "error": "missing " + ",".join(missing or ["weightGrams"])}
        with lock:
            stats["events"] += 1
            if lid in state["events"]:
                stats["duplicates"] += 1
                status = "duplicate"
            else:
                state["events"][lid] = str(uuid.uuid4())
                stats["accepted"] += 1
                status = "accepted"
            cid = state["events"][lid]
        print("event", lid, status, flush=True)
        return lid, {"localEventId": lid, "cloudEventId": cid, "status": status}

    def event(self, body):
        if not isinstance(body, dict):
            return self.send_json(400, {"error": "body must be an event object"})
        _, res = self.judge(body)
        if res["status"] == "failed":
            return self.send_json(422, {"error": res["error"]})
        return self.send_json(200, {"cloudEventId": res["cloudEventId"], "status": res["status"]})

    def batch(self, body):
        evs = body.get("events") if isinstance(body, dict) else None
        if not isinstance(evs, list):
            return self.send_json(400, {"error": "events must be an array"})
        if len(evs) > self.server.batch_limit:
            with lock:
                stats["too_large"] += 1
            return self.send_json(413, {"error": "batch too large",
                                        "maxBatchSize": self.server.batch_limit})
        with lock:
            stats["batches"] += 1
            stats["batch_events"] += len(evs)
        results = [self.judge(ev)[1] for ev in evs]
        return self.send_json(200, {"results": results})

    def ack(self, body):
        bid = body.get("batchId") if isinstance(body, dict) else None
        if not isinstance(bid, str) or not UUID_RE.match(bid):
            return self.send_json(400, {"error": "invalid batchId"})
        ids = body.get("eventIds") if isinstance(body.get("eventIds"), list) else []
        with lock:
            prev = state["acks"].get(bid)
            if prev is None:
                state["acks"][bid] = {"receivedAt": now_iso(), "eventIds": ids}
                stats["batch_acks"] += 1
                stats["ack_ids"] += len(ids)
                stats["ack_ids_unknown"] += sum(1 for i in ids if i not in state["events"])
            rec = state["acks"][bid]
        print("batch_ack", bid, "repeat" if prev else "first", flush=True)
        return self.send_json(200, {"batchId": bid, "receivedAt": rec["receivedAt"],
                                    "status": "already_received" if prev else "received"})

    def heartbeat(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("devices"), list):
            return self.send_json(400, {"error": "heartbeat needs devices"})
        with lock:
            stats["heartbeats"] += 1
        return self.send_json(200, {"ok": True})

    def device_status(self, body):
        if not isinstance(body, dict) or not isinstance(body.get("deviceId"), str):
            return self.send_json(400, {"error": "deviceId required"})
        with lock:
            stats["device_status"] += 1
        return self.send_json(200, {"ok": True})


# ---- control port: carnitrack-cloudsim's line commands

def command(line):
    words = line.split()
    if not words:
        return None
    cmd, args = words[0], words[1:]
    with lock:
        if cmd == "start" and args:
            dev = args[0]
            state["sessions"][dev] = {
                "cloudSessionId": str(uuid.uuid4()), "deviceId": dev,
                "animalId": str(uuid.uuid4()),
                "animalTag": args[1] if len(args) > 1 else "A-%03d" % (len(state["sessions"]) + 1),
                "animalSpecies": "Kuzu", "operatorId": None, "status": "active"}
            return "ok started %s" % dev
        if cmd == "end" and args:
            if state["sessions"].pop(args[0], None) is None:
                return "error: no session on %s" % args[0]
            return "ok ended %s" % args[0]
        if cmd in ("pause", "resume"):
            n = 0
            for dev, s in state["sessions"].items():
                if not args or args[0] == dev:
                    s["status"] = "paused" if cmd == "pause" else "active"
                    n += 1
            return ("ok %sd" % cmd) if n else "error: no session"
        if cmd == "forget":
            n = len(state["edges"])
            state["edges"].clear()
            return "ok forgot %d" % n
        if cmd == "fail" and args:
            try:
                status = int(args[0])
                count = int(args[1]) if len(args) > 1 else 1
                retry = int(args[2]) if len(args) > 2 else None
            except ValueError:
                return "error: usage: fail STATUS [COUNT [RETRY_AFTER]]"
            state["fail"] += [[status, retry]] * count
            return "ok fail %d x%d" % (status, count)
        if cmd == "drop":
            return "ok dropped 0"
        if cmd == "stats":
            return json.dumps(dict(stats, sessions=len(state["sessions"]),
                                   edges=len(state["edges"])), separators=(",", ":"))
        if cmd == "quit":
            return "ok bye"
    return "error: unknown command '%s'" % cmd


class Control(socketserver.StreamRequestHandler):
    def handle(self):
        for raw in self.rfile:
            line = raw.decode(errors="replace").strip()
            answer = command(line)
            if answer is None:
                continue
            self.wfile.write((answer + "\n").encode())
            self.wfile.flush()
            if line == "quit":
                threading.Thread(target=self.server.stop_all, daemon=True).start()
                return


class ControlServer(socketserver.ThreadingTCPServer):
    allow_reuse_address = True
    daemon_threads = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("port", type=int)
    ap.add_argument("--control", type=int, required=True)
    ap.add_argument("--base", default="/api/v1")
    ap.add_argument("--batch-limit", type=int, default=500)
    ap.add_argument("--intervals", default="120000,5000,30000,30000")
    ap.add_argument("--activation-code", action="append", default=[])
    ap.add_argument("--snake", action="store_true")
    ap.add_argument("--hide-limit", action="store_true")
    a = ap.parse_args()
    idle, waiting, active, hb = (int(x) for x in a.intervals.split(","))

    ThreadingHTTPServer.allow_reuse_address = True
    ThreadingHTTPServer.daemon_threads = True
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), Handler)
    srv.base = a.base.rstrip("/")
    srv.batch_limit = a.batch_limit
    srv.snake = a.snake
    srv.config = {"sessionPollIntervalIdleMs": idle, "sessionPollIntervalWaitingMs": waiting,
                  "sessionPollIntervalActiveMs": active, "heartbeatIntervalMs": hb,
                  "maxBatchSize": a.batch_limit, "timezone": "Europe/Istanbul"}
    if a.hide_limit:
        del srv.config["maxBatchSize"]
    state["codes"].update(a.activation_code)
    ctl = ControlServer(("127.0.0.1", a.control), Control)

    def stop_all():
        srv.shutdown()
        ctl.shutdown()

    ctl.stop_all = stop_all
    threading.Thread(target=ctl.serve_forever, daemon=True).start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: threading.Thread(target=stop_all, daemon=True).start())
    print("listening", a.port, flush=True)
    srv.serve_forever()
    print("accepted=%d duplicates=%d" % (stats["accepted"], stats["duplicates"]), flush=True)


if __name__ == "__main__":
    sys.exit(main())
