"""Checks for the end-to-end fault suite: what the scales were told OK for
against what the reference cloud accepted.

Inputs are the files the tools write:
  dp401-sim --ok-log:         "SCALE-dd BARCODE" per record an OK confirmed
                              (barcode = 2-digit scale id + 10-digit record no.)
  carnitrack-cloudsim --event-log:
                              "localEventId outcome deviceId weightGrams
                               cloudSessionId|- offlineBatchId|-" per event seen
  cloudsim `batches`:         one JSON object per offline batch, then "end ..."
                              (REST: with what its offline-batches/ack listed)
The simulated records identify themselves: net = id * 1000000 + record no.,
so an event's (deviceId, weightGrams) names the (scale, record) it came from.

What "exactly once" means here (DP401.md, Acknowledging): the edge cannot
tell a re-sent record from a new weighing. A scale that got no OK sends the
record again on its next connection (dp401-sim --reconnect: counted as
"resent"), and a P" copy arriving on a new connection matches nothing; both
are legitimately stored as new events with new localEventIds. So:
  1. every localEventId the cloud saw was accepted exactly once (re-sends of
     the same id are "duplicate", never a second "accepted"), none rejected;
  2. every OK'd (scale, record) was accepted at least once;
  3. copies beyond the first of a (scale, record) number at most the records
     the scales re-sent after losing their connection (--max-extra), and 0
     when no connection was lost;
  4. no accepted event names a record that was never sent (--records).

Usage:
  e2e_check.py delivery --events LOG --ok FILE [--ok FILE...] [--max-extra N]
               [--records N] [--expect-all-scales K] [--first-id 1]
  e2e_check.py batches --events LOG --batches FILE [--per-scale N] [--scales K]
               [--first-id 1] [--min-batches N]
Exit 0 when every check holds; 1 with one line per failure otherwise.
"""
import argparse
import collections
import json
import sys


def fail(errs, msg):
    if len(errs) < 20:
        print("FAIL: " + msg, file=sys.stderr)
    errs.append(msg)


def read_events(path):
    """-> list of (lid, outcome, dev, weight, sess, bid)"""
    out = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            p = line.split()
            if len(p) != 6:
                raise SystemExit("%s:%d: malformed event-log line: %r" % (path, n, line))
            out.append((p[0], p[1], p[2], int(p[3]), p[4], p[5]))
    return out


def record_of(dev, weight):
    """(scale id, record no.) named by an event, or None if it names none."""
    sid, rec = divmod(weight, 1000000)
    if dev != "SCALE-%02d" % sid or rec <= 0:
        return None
    return (sid, rec)


def delivery(a):
    errs = []
    evs = read_events(a.events)
    accepted = collections.Counter()
    seen = {}
    for lid, outcome, dev, w, sess, bid in evs:
        seen.setdefault(lid, set()).add(outcome)
        if outcome == "accepted":
            accepted[lid] += 1
        elif outcome == "rejected":
            fail(errs, "event %s (%s %d) rejected by the cloud" % (lid, dev, w))
    for lid, n in accepted.items():
        if n != 1:
            fail(errs, "localEventId %s accepted %d times" % (lid, n))
    for lid, outs in seen.items():
        if "accepted" not in outs:
            fail(errs, "localEventId %s seen (%s) but never accepted"
                 % (lid, ",".join(sorted(outs))))

    copies = collections.Counter()
    byrec = {}
    for lid, outcome, dev, w, sess, bid in evs:
        if outcome != "accepted":
            continue
        r = record_of(dev, w)
        if r is None:
            fail(errs, "event %s (%s weight %d) names no simulated record" % (lid, dev, w))
            continue
        if a.records and r[1] > a.records:
            fail(errs, "event %s names record %d of %s, beyond the %d sent"
                 % (lid, r[1], dev, a.records))
        copies[r] += 1
        byrec.setdefault(r, []).append(lid)

    oks = set()
    for path in a.ok:
        with open(path, encoding="ascii", errors="replace") as f:
            for n, line in enumerate(f, 1):
                p = line.split()
                if len(p) != 2 or not p[0].startswith("SCALE-") or len(p[1]) != 12:
                    fail(errs, "%s:%d: malformed ok-log line %r" % (path, n, line))
                    continue
                oks.add((int(p[0][6:]), int(p[1][2:])))
    missing = sorted(r for r in oks if copies[r] == 0)
    for sid, rec in missing[:10]:
        fail(errs, "SCALE-%02d record %d got OK but never reached the cloud" % (sid, rec))
    if missing:
        fail(errs, "%d OK'd records never reached the cloud" % len(missing))

    if a.expect_all_scales:
        want = {(sid, rec) for sid in range(a.first_id, a.first_id + a.expect_all_scales)
                for rec in range(1, a.records + 1)}
        nok = sorted(want - oks)
        if nok:
            fail(errs, "%d records never got OK (first: SCALE-%02d #%d)"
                 % (len(nok), nok[0][0], nok[0][1]))

    extra = sum(c - 1 for c in copies.values() if c > 1)
    if a.max_extra is not None and extra > a.max_extra:
        dup = [(r, byrec[r]) for r, c in copies.items() if c > 1][:5]
        fail(errs, "%d extra copies of records, more than the %d re-sent (e.g. %r)"
             % (extra, a.max_extra, dup))
    print("delivery: events_logged=%d accepted_ids=%d records=%d ok_records=%d "
          "extra_copies=%d%s" % (
        len(evs), len(accepted), len(copies), len(oks), extra,
        "" if a.max_extra is None else " (allowed %d)" % a.max_extra))
    return 1 if errs else 0


def batches(a):
    errs = []
    evs = read_events(a.events)
    got = collections.defaultdict(lambda: [0, 0, set()])
    for lid, outcome, dev, w, sess, bid in evs:
        if outcome == "accepted" and bid != "-":
            g = got[bid]
            g[0] += 1
            g[1] += w
            g[2].add(dev)
    recs = []
    with open(a.batches, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                recs.append(json.loads(line))
    per_dev = collections.Counter()
    listed = set()
    for b in recs:
        bid, dev = b["batchId"], b["deviceId"]
        listed.add(bid)
        per_dev[dev] += 1
        g = got.get(bid, [0, 0, set()])
        if not b["end"]:
            fail(errs, "batch %s (%s): no offline_batch_end received" % (bid, dev))
        if b["eventCount"] != b["received"] or b["totalWeightGrams"] != b["receivedWeightGrams"]:
            fail(errs, "batch %s (%s): offline_batch_end says %d events / %d g, "
                 "cloud accepted %d / %d g" % (bid, dev, b["eventCount"], b["totalWeightGrams"],
                                               b["received"], b["receivedWeightGrams"]))
        if b["eventCount"] != g[0] or b["totalWeightGrams"] != g[1]:
            fail(errs, "batch %s (%s): offline_batch_end says %d events / %d g, "
                 "event log has %d / %d g" % (
                bid, dev, b["eventCount"], b["totalWeightGrams"], g[0], g[1]))
        # REST: the ACK's eventIds (all its parts) name exactly the batch's events
        if "ackIds" in b and (b["ackIds"] != b["eventCount"] or b["ackIdsUnknown"] != 0
                              or b["ackPartsReceived"] != b["ackParts"]):
            fail(errs, "batch %s (%s): the ACK listed %d eventIds (%d unknown) in %d of %d "
                 "parts for %d events" % (bid, dev, b["ackIds"], b["ackIdsUnknown"],
                                          b["ackPartsReceived"], b["ackParts"],
                                          b["eventCount"]))
        if g[2] - {dev}:
            fail(errs, "batch %s of %s holds events of %s"
                 % (bid, dev, ",".join(sorted(g[2] - {dev}))))
    for bid in set(got) - listed:
        fail(errs, "events carry offlineBatchId %s that the cloud has no batch record for" % bid)
    if a.scales:
        for sid in range(a.first_id, a.first_id + a.scales):
            dev = "SCALE-%02d" % sid
            if a.per_scale is not None and per_dev[dev] != a.per_scale:
                fail(errs, "%s has %d offline batches, expected %d"
                     % (dev, per_dev[dev], a.per_scale))
    if len(recs) < a.min_batches:
        fail(errs, "%d offline batches, expected at least %d" % (len(recs), a.min_batches))
    print("batches: %d batches, %d batch events, per scale %s" % (
        len(recs), sum(g[0] for g in got.values()), dict(sorted(per_dev.items()))))
    return 1 if errs else 0


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("delivery")
    d.add_argument("--events", required=True)
    d.add_argument("--ok", action="append", default=[])
    d.add_argument("--max-extra", type=int)
    d.add_argument("--records", type=int, default=0)
    d.add_argument("--expect-all-scales", type=int, default=0)
    d.add_argument("--first-id", type=int, default=1)
    b = sub.add_parser("batches")
    b.add_argument("--events", required=True)
    b.add_argument("--batches", required=True)
    b.add_argument("--per-scale", type=int)
    b.add_argument("--scales", type=int, default=0)
    b.add_argument("--first-id", type=int, default=1)
    b.add_argument("--min-batches", type=int, default=0)
    a = ap.parse_args()
    return delivery(a) if a.cmd == "delivery" else batches(a)


if __name__ == "__main__":
    sys.exit(main())
