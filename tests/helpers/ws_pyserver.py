#!/usr/bin/env python3
"""A WebSocket test peer on Debian's python3-websockets (a stack we did not
write), plain or TLS. Binds port 0 and writes the port to --port-file once
listening. Messages it understands (anything else is echoed):
  headers     -> JSON of the request headers the client sent
  big:N       -> one text message of N 'x'
  frag        -> one message sent as three fragments ("ab","cd","ef")
  close       -> closes with 1000 "bye"
  drop        -> drops TCP without a close frame
With --token T the upgrade is refused with 401 unless "Bearer T" is sent."""
import argparse, asyncio, http, json, os, ssl, sys
import websockets

ap = argparse.ArgumentParser()
ap.add_argument("--port-file", required=True)
ap.add_argument("--host", default="127.0.0.1")
ap.add_argument("--cert")
ap.add_argument("--key")
ap.add_argument("--token")
args = ap.parse_args()

def check_token(path, headers):
    if args.token and headers.get("Authorization") != "Bearer " + args.token:
        return (http.HTTPStatus.UNAUTHORIZED, [], b"bad token\n")
    return None

async def handler(ws, path=None):
    try:
        async for msg in ws:
            if msg == "headers":
                await ws.send(json.dumps(dict(ws.request_headers.raw_items())))
            elif isinstance(msg, str) and msg.startswith("big:"):
                await ws.send("x" * int(msg[4:]))
            elif msg == "frag":
                await ws.send(iter(["ab", "cd", "ef"]))
            elif msg == "close":
                await ws.close(1000, "bye")
            elif msg == "drop":
                ws.transport.abort()
            else:
                await ws.send(msg)
    except websockets.ConnectionClosed:
        pass

async def main():
    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    async with websockets.serve(handler, args.host, 0, ssl=ctx,
                                process_request=check_token,
                                max_size=2**20, compression=None) as srv:
        port = srv.sockets[0].getsockname()[1]
        tmp = args.port_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d\n" % port)
        os.rename(tmp, args.port_file)
        await asyncio.Future()

try:
    asyncio.run(main())
except KeyboardInterrupt:
    sys.exit(0)
