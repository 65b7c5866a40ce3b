#!/usr/bin/python3
"""Drives carnitrack-cloudsim as an edge would, with python3-websockets, and
checks its answers: registration, acks accepted/duplicate, PLU rejection,
offline batch records, sessions sent on connect, pong, token refusal.

    /usr/bin/python3 tests/cloud_py/sim_probe.py URL TOKEN

Exits non-zero with a message naming the first answer that was wrong.
"""
import asyncio
import json
import sys
import uuid

import websockets


def env(mtype, payload):
    return json.dumps({"type": mtype, "payload": payload, "timestamp": "2026-01-30T10:00:00Z",
                       "messageId": str(uuid.uuid4())})


def event(lid, plu="00001", batch=None, weight=1500):
    return {"localEventId": lid, "deviceId": "SCALE-01", "globalDeviceId": "S-SCALE-01",
            "cloudSessionId": None, "offlineMode": batch is not None, "offlineBatchId": batch,
            "pluCode": plu, "productName": "KIYMA", "weightGrams": weight,
            "barcode": "1234567890123", "scaleTimestamp": "2026-01-30T10:00:00Z",
            "receivedAt": "2026-01-30T10:00:00.123Z"}


def expect(cond, what):
    if not cond:
        print("FAIL:", what, flush=True)
        sys.exit(1)


async def recv_type(ws, mtype):
    while True:
        m = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if m["type"] == mtype:
            return m


async def main(url, token):
    # A wrong token is refused at the upgrade with 401.
    try:
        async with websockets.connect(url, extra_headers={"Authorization": "Bearer wrong"}):
            expect(False, "wrong token was accepted")
    except websockets.exceptions.InvalidStatusCode as e:
        expect(e.status_code == 401, "wrong token answered %d, not 401" % e.status_code)

    hdr = {"Authorization": "Bearer " + token, "X-Client-Type": "edge"}
    async with websockets.connect(url, extra_headers=hdr) as ws:
        await ws.send(env("register", {"edgeId": None, "siteId": "S", "siteName": "n",
                                       "version": "t", "capabilities": []}))
        m = await recv_type(ws, "edge_registered")
        expect(len(m["payload"]["edgeId"]) == 36, "edge_registered without a uuid edgeId")
        # the session started by the test before we connected arrives now
        m = await recv_type(ws, "session_started")
        expect(m["payload"]["deviceId"] == "SCALE-01", "active session not sent on connect")
        expect(m["payload"]["animalTag"] == "A-7", "session_started lost animalTag")

        a, b, r = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
        await ws.send(env("event", event(a)))
        m = await recv_type(ws, "event_ack")
        expect(m["payload"]["localEventId"] == a and m["payload"]["status"] == "accepted",
               "first event not accepted")
        cloud_id = m["payload"]["cloudEventId"]
        await ws.send(env("event", event(a)))
        m = await recv_type(ws, "event_ack")
        expect(m["payload"]["status"] == "duplicate", "re-sent event not a duplicate")
        expect(m["payload"]["cloudEventId"] == cloud_id, "duplicate has another cloudEventId")
        await ws.send(env("event", event(r, plu="00013")))
        m = await recv_type(ws, "event_rejected")
        expect(m["payload"]["localEventId"] == r, "rejected PLU not rejected")

        batch = str(uuid.uuid4())
        await ws.send(env("offline_batch_start", {"batchId": batch, "deviceId": "SCALE-01",
                                                  "startedAt": "2026-01-30T10:00:00Z"}))
        await ws.send(env("offline_batch_end", {"batchId": batch, "deviceId": "SCALE-01",
                                                "startedAt": "2026-01-30T10:00:00Z",
                                                "endedAt": "2026-01-30T10:15:00Z",
                                                "eventCount": 2, "totalWeightGrams": 3000}))
        await ws.send(env("event_batch", {"events": [event(b, batch=batch),
                                                     event(str(uuid.uuid4()), batch=batch)]}))
        for _ in range(2):
            m = await recv_type(ws, "event_ack")
            expect(m["payload"]["status"] == "accepted", "batch event not accepted")
        await ws.send(env("ping", {}))
        await recv_type(ws, "pong")
        # malformed input is survived: the link still answers afterwards
        await ws.send("{not json")
        await ws.send(env("ping", {}))
        await recv_type(ws, "pong")
    print("probe ok", flush=True)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
