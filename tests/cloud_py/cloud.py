#!/usr/bin/python3
"""An independent CarniTrack cloud on Debian's python3-websockets (10.4).

It proves the edge's WebSocket client against a stack we did not write:
accepts one or more edges, answers `register` with `edge_registered`, acks
every event (`event` and each of `event_batch`) accepted or duplicate by
localEventId, answers JSON `ping` with `pong`.

    /usr/bin/python3 tests/cloud_py/cloud.py PORT [--token TOKEN]

Prints "listening PORT" once ready, one "ack <localEventId> <status>" line
per event (with CLOUD_PY_PAYLOADS=1 in the environment, a "payload <JSON>"
line before it), and "accepted=N duplicates=N" on SIGTERM/SIGINT.
"""
import asyncio
import datetime
import json
import os
import signal
import sys
import uuid

import websockets

seen = {}
counts = {"accepted": 0, "duplicates": 0}
PAYLOADS = os.environ.get("CLOUD_PY_PAYLOADS") == "1"


def envelope(mtype, payload):
    ts = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds")
    return json.dumps({"type": mtype, "payload": payload,
                       "timestamp": ts.replace("+00:00", "Z"),
                       "messageId": str(uuid.uuid4())})


async def ack(ws, ev):
    lid = ev.get("localEventId")
    if not isinstance(lid, str):
        return
    if PAYLOADS:
        print("payload", json.dumps(ev, sort_keys=True), flush=True)
    if lid in seen:
        status = "duplicate"
        counts["duplicates"] += 1
    else:
        seen[lid] = str(uuid.uuid4())
        status = "accepted"
        counts["accepted"] += 1
    print("ack", lid, status, flush=True)
    await ws.send(envelope("event_ack", {"localEventId": lid, "cloudEventId": seen[lid],
                                         "status": status}))


async def edge(ws, path=None):
    async for text in ws:
        try:
            msg = json.loads(text)
            mtype, payload = msg["type"], msg.get("payload") or {}
        except (ValueError, KeyError, TypeError):
            print("malformed", text[:80], flush=True)
            continue
        if mtype == "register":
            edge_id = payload.get("edgeId") or str(uuid.uuid4())
            print("register", edge_id, flush=True)
            await ws.send(envelope("edge_registered", {
                "edgeId": edge_id, "siteId": payload.get("siteId") or "site-py",
                "siteName": payload.get("siteName") or "python cloud"}))
        elif mtype == "event":
            await ack(ws, payload)
        elif mtype == "event_batch":
            for ev in payload.get("events", []):
                await ack(ws, ev)
        elif mtype == "ping":
            await ws.send(envelope("pong", {"pingId": msg.get("messageId")}))
        else:
            print("recv", mtype, flush=True)


async def main():
    port = int(sys.argv[1])
    token = sys.argv[3] if len(sys.argv) > 3 and sys.argv[2] == "--token" else None

    async def check_auth(path, headers):
        if token is not None and headers.get("Authorization") != "Bearer " + token:
            return (401, [], b"Unauthorized\n")
        return None

    stop = asyncio.get_running_loop().create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set_result, None)
    async with websockets.serve(edge, "127.0.0.1", port, process_request=check_auth,
                                max_size=16 * 1024 * 1024):
        print("listening", port, flush=True)
        await stop
    print("accepted=%d duplicates=%d" % (counts["accepted"], counts["duplicates"]), flush=True)


if __name__ == "__main__":
    asyncio.run(main())
