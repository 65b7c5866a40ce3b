"""kill -9 a worker of carnitrackd, then kill -9 its replacement the moment
it appears (long before it has served a second), so the supervisor must
back it off. Polls /proc every 5 ms: a shell loop around pgrep or
carnitrackctl is too slow for that on a loaded machine.

usage: e2e_rekill.py SUPERVISOR_PID WORKER [TIMEOUT_S]
Prints the two pids killed; exit 0, or 1 when no worker/replacement showed up.
"""
import os
import sys
import time


def worker_pid(sup, name):
    tag = b"--worker=" + name.encode()
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % p) as f:
                ppid = f.read().rsplit(")", 1)[1].split()[1]
            if ppid != sup:
                continue
            with open("/proc/%s/cmdline" % p, "rb") as f:
                if tag in f.read().split(b"\0"):
                    return int(p)
        except (OSError, IndexError):
            pass   # gone meanwhile, or a zombie
    return None


def main():
    sup, name = sys.argv[1], sys.argv[2]
    timeout = float(sys.argv[3]) if len(sys.argv) > 3 else 10
    old = worker_pid(sup, name)
    if old is None:
        print("no %s worker under %s" % (name, sup))
        return 1
    os.kill(old, 9)
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        p = worker_pid(sup, name)
        if p is not None and p != old:
            os.kill(p, 9)
            print("killed %d, then its replacement %d" % (old, p))
            return 0
        time.sleep(0.005)
    print("no replacement for %s %d within %g s" % (name, old, timeout))
    return 1


if __name__ == "__main__":
    sys.exit(main())
