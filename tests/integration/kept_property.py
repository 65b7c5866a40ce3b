"""The ingest property test on the real daemon (issue 15), the few-case
sibling of tests/unit/test_dp401_property.c: random conversations of
valid records (some with an impossible date/time, some without their line
end), record-shaped lines that do not decode, over-long lines, heartbeats,
registrations, garbage, prompts and P" copies, cut at random TCP boundaries
with the bridge's HB put between segments. Each case is one scale (its own
SCALE-nn); the scale waits for each prompt's OK before it goes on.

After the last OK every valid record must be an event exactly once (P"
copies not stored again), flagged when its time was impossible, and every
record-shaped line that is no record must be quarantined.

usage: kept_property.py PORT CTL_CMD CASES SEED
  CTL_CMD: the carnitrackctl command line (with -c CONF) to read the store
"""
import os
import random
import shlex
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import scale_lib as sl  # noqa: E402

PORT, CTL = int(sys.argv[1]), shlex.split(sys.argv[2])
CASES, SEED = int(sys.argv[3]), int(sys.argv[4])
BAD = [b"00001,not,a,record", b"123456,06:00:27,30.01.2026,X,1,0,K,1,0,1",
       b"00001,06:00:27,30.01.2026,KIYMA,000000000001,0000,KAAN,12x4,0,1", b"7,"]
GARBAGE = b"!#$%&()*+-./:;<=>@[]^_`{|}~ xyzqwjv\x80\xfe\xa9"


def conversation(rnd, case):
    """[(bytes, ends_with_prompt)], [(net, invalid)], [bad line], copies"""
    segs, cur, records, bad = [], b"", [], []
    company = rnd.choice([b"KORKUT KAAN BALTA", b"YILMAZ KASAP", b"HB GIDA"])
    last = None
    cur += b"SCALE-%02d" % (10 + case)
    n = rnd.randrange(3, 14)
    kinds = [rnd.choice("RRRRRBLHSGEP") for _ in range(n)] + ["P"]
    for i, k in enumerate(kinds):
        nxt = kinds[i + 1] if i + 1 < len(kinds) else "P"
        glue_ok = nxt in "RP" and rnd.random() < 0.2
        eol = b"" if glue_ok else rnd.choice([sl.CRLF, sl.CRLF, b"\n", b"\r"])
        if k == "R":
            net = case * 1000 + i
            t, d, invalid = b"%02d:%02d:%02d" % (rnd.randrange(24), rnd.randrange(60),
                                                  rnd.randrange(50)), b"15.03.2026", False
            if rnd.random() < 0.15:
                t, invalid = b"24:00:00", True
            elif rnd.random() < 0.1:
                d, invalid = b"31.02.2026", True
            r = sl.record(plu=b"%05d" % rnd.randrange(100000), t=t, d=d, net=net,
                          company=company, ten=rnd.random() < 0.2,
                          operator=rnd.choice([b"KAAN", b"MAHBUBE", b""]))
            records.append((net, invalid))
            cur += r + eol
            last = r
        elif k == "B":
            line = rnd.choice(BAD)
            bad.append(line)
            cur += line + eol
        elif k == "L":
            n_ = rnd.randrange(4200, 5200)
            line = b"00001," + bytes(rnd.choice(b"abcdef") for _ in range(n_))
            bad.append(line[:sl_raw_max])
            cur += line + eol
        elif k == "H":
            cur += b"HB"
        elif k == "S":
            cur += b"SCALE-%02d" % (10 + case)       # the bridge registers again: same id
        elif k == "G":
            cur += bytes(rnd.choice(GARBAGE) for _ in range(rnd.randrange(1, 30)))
        elif k == "E":
            cur += sl.CRLF
        if k == "P":
            cur += sl.PROMPT + (b"\n" if rnd.random() < 0.3 else b"")
            segs.append(cur)
            cur = b""
            # the scale's P" copy of what was just OK'd
            if i > 0 and kinds[i - 1] == "R" and rnd.random() < 0.6:
                cur += b'P"' + last + sl.CRLF
    return segs, records, bad


sl_raw_max = 512


def send_cut(rnd, s, data):
    """In random TCP segments, the bridge's HB between some (not twice within 48 bytes)."""
    off, last_hb = 0, -100
    while off < len(data):
        k = rnd.randrange(1, 9) if rnd.random() < 0.5 else rnd.randrange(1, 400)
        s.send(data[off:off + k])
        off += k
        if off < len(data) and off > last_hb + 48 and rnd.random() < 0.08:
            s.send(b"HB")
            last_hb = off


def ctl(*args):
    return subprocess.run(CTL + list(args), check=True, capture_output=True).stdout.decode(
        errors="replace")


def without_hb(b):
    return b.replace(b"HB", b"")


def main():
    rnd = random.Random(SEED)
    expect, t0 = {}, time.time()
    if CASES > 90:
        raise SystemExit("at most 90 cases: one SCALE-nn (10..99) each")
    for case in range(CASES):
        segs, records, bad = conversation(rnd, case)
        s = sl.Scale(PORT)
        for k, seg in enumerate(segs):
            send_cut(rnd, s, seg)
            s.wait_oks(k + 1)
        s.close()
        expect["SCALE-%02d" % (10 + case)] = (records, bad)
    events = ctl("events", "--limit", "0").splitlines()[1:]
    invalid = ctl("events", "--invalid", "--limit", "0").splitlines()[1:]
    got = {}
    for line in events:
        f = line.split()
        if len(f) >= 6:
            got.setdefault(f[2], []).append((int(f[4]), "invalid scale time" in line))
    quarantined, dev = {}, None
    for line in invalid:
        if line.startswith("    "):
            quarantined.setdefault(dev, []).append(line[4:].encode())
        else:
            dev = line.split()[1]
    nrec = nbad = 0
    for dev, (records, bad) in expect.items():
        if sorted(got.get(dev, [])) != sorted(records):
            raise SystemExit("FAIL: seed %d %s: stored %s, want %s"
                             % (SEED, dev, sorted(got.get(dev, [])), sorted(records)))
        q = [without_hb(x).rstrip(b" .") for x in quarantined.get(dev, [])]
        if len(q) != len(bad):
            raise SystemExit("FAIL: seed %d %s: %d lines quarantined, want %d"
                             % (SEED, dev, len(q), len(bad)))
        for line in bad:
            if not any(line.startswith(x[:400]) for x in q):
                raise SystemExit("FAIL: seed %d %s: %r not quarantined" % (SEED, dev, line[:60]))
        nrec += len(records)
        nbad += len(bad)
    print("kept property: %d cases, %d records stored once, %d lines quarantined, seed %d, %.1fs"
          % (CASES, nrec, nbad, SEED, time.time() - t0))


main()
