#!/usr/bin/python3
"""An independent CarniTrack cloud on Debian's python3-websockets (10.4).

It proves the edge's WebSocket client against a stack we did not write:
accepts one or more edges, answers `register` (see --reply), acks every
event (`event` and each of `event_batch`) accepted or duplicate by
localEventId, answers JSON `ping` with `pong`.

    /usr/bin/python3 tests/cloud_py/cloud.py PORT [--token TOKEN]
        [--reply edge_registered|config_update|none]

--reply: how `register` is answered: `edge_registered` (default);
`config_update` {edgeId, siteId, siteName, registrationStatus} as another
team's cloud does; `none`, no answer at all (the edge must stream anyway).

Prints "listening PORT" once ready, one "ack <localEventId> <status>
<globalDeviceId>" line per event (with CLOUD_PY_PAYLOADS=1 in the
environment, a "payload <JSON>" line before it), "device <type> <deviceId>
<globalDeviceId> <deviceType>" per device_connected / device_heartbeat, and
"accepted=N duplicates=N" on SIGTERM/SIGINT.
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
opts = {"reply": "edge_registered", "token": None}


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
    print("ack", lid, status, ev.get("globalDeviceId"), flush=True)
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
            print("register", edge_id, opts["reply"], flush=True)
            ident = {"edgeId": edge_id, "siteId": payload.get("siteId") or "site-py",
                     "siteName": payload.get("siteName") or "python cloud"}
            if opts["reply"] == "edge_registered":
                await ws.send(envelope("edge_registered", ident))
            elif opts["reply"] == "config_update":
                ident["registrationStatus"] = "registered"
                await ws.send(envelope("config_update", ident))
        elif mtype == "event":
            await ack(ws, payload)
        elif mtype == "event_batch":
            for ev in payload.get("events", []):
                await ack(ws, ev)
        elif mtype == "ping":
            await ws.send(envelope("pong", {"pingId": msg.get("messageId")}))
        elif mtype in ("device_connected", "device_heartbeat"):
            print("device", mtype, payload.get("deviceId"), payload.get("globalDeviceId"),
                  payload.get("deviceType"), flush=True)
        else:
            print("recv", mtype, flush=True)


async def main():
    port = int(sys.argv[1])
    args = sys.argv[2:]
    while args:
        if args[0] == "--token" and len(args) > 1:
            opts["token"] = args[1]
        elif args[0] == "--reply" and len(args) > 1 and \
                args[1] in ("edge_registered", "config_update", "none"):
            opts["reply"] = args[1]
        else:
            sys.exit("usage: cloud.py PORT [--token TOKEN] "
                     "[--reply edge_registered|config_update|none]")
        args = args[2:]
    token = opts["token"]

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
