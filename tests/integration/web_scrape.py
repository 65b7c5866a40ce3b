"""Scrapes the web worker's /metrics the way Prometheus does and checks it
(test_web_worker.sh, test_web_flood.sh): the exposition must parse with
python3-prometheus-client's parser, every family must have HELP and TYPE,
and the given Python expression must hold over m (sample name -> value,
labels folded in as name{k=v,...}, sorted by label name).

Usage: web_scrape.py PORT TOKEN|- EXPRESSION
Exit 0 when it holds; 1 with the reason on stderr otherwise (so the shell
can poll it with wait_for while values move).
"""
import re
import sys
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def scrape(port, token):
    r = urllib.request.Request("http://127.0.0.1:%d/metrics" % port)
    if token != "-":
        r.add_header("Authorization", "Bearer " + token)
    with urllib.request.urlopen(r, timeout=5) as resp:
        assert resp.status == 200, resp.status
        ctype = resp.headers["Content-Type"]
        assert ctype.startswith("text/plain; version=0.0.4"), ctype
        return resp.read().decode("utf-8")


def main():
    port, token, expr = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    text = scrape(port, token)
    fams = list(text_string_to_metric_families(text))
    names = [f.name for f in fams]
    assert len(names) == len(set(names)), "a family twice"
    helps = re.findall(r"^# HELP (\S+) ", text, re.M)
    types = re.findall(r"^# TYPE (\S+) (\S+)$", text, re.M)
    assert len(helps) == len(types) == len(fams), (len(helps), len(types), len(fams))
    m = {}
    for f in fams:
        for s in f.samples:
            k = s.name
            if s.labels:
                k += "{" + ",".join("%s=%s" % kv for kv in sorted(s.labels.items())) + "}"
            m[k] = s.value
    if not eval("(" + expr + ")", {"m": m}):
        sys.exit("does not hold: %s" % expr)


if __name__ == "__main__":
    try:
        main()
    except (AssertionError, OSError, ValueError, KeyError) as e:
        sys.exit("scrape: %r" % e)
