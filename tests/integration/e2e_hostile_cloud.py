"""A hostile cloud for test_e2e_garbage.sh (python3-websockets).

Each edge that connects gets: edge_registered after its register (so the
edge believes it is up), then garbage text, a binary frame, truncated JSON,
JSON of the wrong shapes, unknown message types, and finally one 10 MB text
frame. Then the connection is closed. After --connections edges it exits,
so the reference cloud can take the port over.

Prints one line per step to stdout; exit 0 when it served them all.
usage: e2e_hostile_cloud.py PORT [--connections N] [--timeout S]
"""
import argparse
import asyncio
import json
import sys

import websockets

BIG = 10 * 1024 * 1024

SMALL = [
    ("garbage text", "\x01\x02 garbage {{{ \ufffd"),
    ("binary frame", b"\xff\xfe\x00\x01binary"),
    ("truncated JSON", '{"type":"event_ack","payload":{"localEventId":"'),
    ("JSON array", "[1,2,3]"),
    ("JSON without type", '{"payload":{}}'),
    ("wrong field types", '{"type":"event_ack","payload":{"localEventId":42,'
                          '"cloudEventId":[],"status":7}}'),
    ("ack for an unknown id", '{"type":"event_ack","payload":{"localEventId":'
                              '"00000000-0000-4000-8000-000000000000",'
                              '"cloudEventId":"x","status":"accepted"}}'),
    ("bad session", '{"type":"session_started","payload":{"deviceId":123,"cloudSessionId":null}}'),
    ("unknown type", '{"type":"no_such_message","payload":{"x":1}}'),
    ("deep nesting", "[" * 5000 + "]" * 5000),
]


async def serve(args):
    done = asyncio.Event()
    served = 0

    async def handler(ws, path=None):
        nonlocal served
        served += 1
        n = served
        try:
            reg = json.loads(await asyncio.wait_for(ws.recv(), 10))
            print("conn %d: got %s" % (n, reg.get("type")), flush=True)
            await ws.send(json.dumps({"type": "edge_registered", "payload": {
                "edgeId": "11111111-2222-4333-8444-555555555555", "siteId": "SITE01",
                "siteName": "Test Site"}, "timestamp": "2026-01-30T10:00:00Z", "messageId": "m1"}))
            for what, msg in SMALL:
                await ws.send(msg)
                print("conn %d: sent %s" % (n, what), flush=True)
            big = '{"type":"session_started","payload":{"deviceId":"SCALE-01","x":"' + \
                "A" * (BIG - 64) + '"}}'
            await ws.send(big)
            print("conn %d: sent 10 MB frame (%d bytes)" % (n, len(big)), flush=True)
            # The edge is expected to refuse the frame and close, or to
            # discard it and go on; either way it must not crash.
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 3)
            except asyncio.TimeoutError:
                print("conn %d: edge still talking after the big frame; closing" % n, flush=True)
        except websockets.ConnectionClosed as e:
            print("conn %d: edge closed the link (%s)" % (n, e.code), flush=True)
        except Exception as e:   # report, never die: the test reads our output
            print("conn %d: %r" % (n, e), flush=True)
        finally:
            await ws.close()
            if served >= args.connections:
                done.set()

    async with websockets.serve(handler, "127.0.0.1", args.port, max_size=None,
                                ping_interval=None):
        print("listening on %d" % args.port, flush=True)
        await asyncio.wait_for(done.wait(), args.timeout)
    print("served %d" % served, flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("port", type=int)
    ap.add_argument("--connections", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=60)
    args = ap.parse_args()
    try:
        asyncio.run(serve(args))
    except asyncio.TimeoutError:
        print("timed out", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
