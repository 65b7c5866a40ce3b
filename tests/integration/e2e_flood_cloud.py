#!/usr/bin/python3
"""A cloud that tries to exhaust the edge (issue 18), on python3-websockets.

It registers the edge like a real cloud (edge_registered), then floods it
for --seconds with one of:

  ping     WebSocket ping frames as fast as the socket takes them, plus one
           unsolicited pong a second so the edge's dead-link check stays
           happy; from connection --no-read-from on it also stops reading
           what the edge sends (a peer that does not read its pongs)
  plu      plu_updated messages with large payloads (--size bytes), each
           for a new PLU code
  session  session_started for random device ids and, with --devices,
           for those ids with a new session id each time
  state    plu and session messages in turn

The flood lasts --seconds from the first registration, over as many links
as the edge makes (it drops a flooding peer and comes back); then the peer
exits, so the reference cloud can take the port over. Prints "listening",
"flooding N" (link number), "sent N" and "done" lines.

usage: e2e_flood_cloud.py PORT MODE [--seconds S] [--no-read-from N]
           [--size B] [--devices A,B] [--timeout S]
"""
import argparse
import asyncio
import json
import os
import sys
import time
import uuid

import websockets

PING = b"\x89\x00"          # FIN + ping, unmasked (server to client), empty
PONG = b"\x8a\x00"
CHUNK = PING * 4096


def envelope(mtype, payload):
    return json.dumps({"type": mtype, "payload": payload,
                       "timestamp": "2026-01-30T10:00:00Z", "messageId": str(uuid.uuid4())})


async def flood_ping(ws, end, no_read):
    tr = ws.transport
    if no_read:
        tr.pause_reading()
    sent = 0
    next_pong = 0.0
    while time.monotonic() < end:
        now = time.monotonic()
        if now >= next_pong:
            tr.write(PONG)
            next_pong = now + 1.0
        if tr.is_closing():
            print("edge closed the link after %d pings" % sent, flush=True)
            return sent
        # As fast as the socket takes them, without growing our own buffer.
        if tr.get_write_buffer_size() < 1 << 20:
            tr.write(CHUNK)
            sent += len(CHUNK) // len(PING)
            await asyncio.sleep(0)
        else:
            await asyncio.sleep(0.001)
    return sent


async def flood_msgs(ws, end, args):
    sent = 0
    devices = [d for d in args.devices.split(",") if d]
    pad = "P" * args.size
    while time.monotonic() < end:
        if args.mode == "plu" or (args.mode == "state" and sent % 2 == 0):
            msg = envelope("plu_updated", {"pluCode": "%08d" % sent, "name": "FLOOD",
                                           "price": 1, "description": pad})
        else:
            dev = devices[(sent // 2) % len(devices)] if devices and sent % 4 == 1 else \
                "RND-" + os.urandom(6).hex()
            msg = envelope("session_started", {
                "deviceId": dev, "cloudSessionId": str(uuid.uuid4()),
                "animalId": "A" * 60, "animalTag": "T" * 60, "animalSpecies": "S" * 60,
                "operatorId": "O" * 60})
        try:
            await ws.send(msg)
        except websockets.ConnectionClosed:
            print("edge closed the link after %d messages" % sent, flush=True)
            return sent
        sent += 1
    return sent


async def serve(args):
    done = asyncio.Event()
    served = 0
    end = None

    async def handler(ws, path=None):
        nonlocal served, end
        served += 1
        n = served
        try:
            reg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            print("got %s" % reg.get("type"), flush=True)
            await ws.send(envelope("edge_registered", {
                "edgeId": "11111111-2222-4333-8444-555555555555", "siteId": "SITE01",
                "siteName": "Test Site"}))
            if end is None:
                end = time.monotonic() + args.seconds
            print("flooding %d" % n, flush=True)
            if args.mode == "ping":
                no_read = args.no_read_from > 0 and n >= args.no_read_from
                sent = await flood_ping(ws, end, no_read)
            else:
                sent = await flood_msgs(ws, end, args)
            print("sent %d" % sent, flush=True)
        except websockets.ConnectionClosed as e:
            print("edge closed the link (%s)" % e.code, flush=True)
        except Exception as e:   # report, never die: the test reads our output
            print("error %r" % e, flush=True)
        finally:
            ws.transport.abort()
            print("closed %d" % n, flush=True)
            if end is not None and time.monotonic() >= end:
                done.set()

    async with websockets.serve(handler, "127.0.0.1", args.port, max_size=None,
                                ping_interval=None, max_queue=None):
        print("listening on %d" % args.port, flush=True)
        await asyncio.wait_for(done.wait(), args.timeout)
    print("done", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("mode", choices=["ping", "plu", "session", "state"])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--size", type=int, default=60000)
    ap.add_argument("--no-read-from", type=int, default=0)
    ap.add_argument("--devices", default="")
    ap.add_argument("--timeout", type=float, default=120)
    args = ap.parse_args()
    try:
        asyncio.run(serve(args))
    except asyncio.TimeoutError:
        print("timed out", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
