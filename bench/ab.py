#!/usr/bin/env python3
"""Before and after: two or more flowtrail builds replaying the same set, alternating runs,
medians. What a change's note quotes (wall time, CPU time, peak RSS, page faults) and, with
detection, whether the builds judged the same (a checksum of the sorted alerts).

usage: bench/ab.py SET BIN [BIN...] [--runs N] [--detect] [--out DIR]

  SET        a generated set (a folder of matrix.py's --data, or compare.sh's)
  BIN        flowtrail release binaries to compare (copy each build aside first: cargo
             overwrites target/release/flowtrail)
  --runs N   runs per binary (default 3); the order rotates from run to run
  --detect   replay with detection (default --no-detect) and checksum the alerts
  --out DIR  where the runs write (default /tmp/flowtrail-ab); every run writes into a new
             folder, deleted only at the end (see matrix.py on ext4's deleted inodes)

Each run: `/usr/bin/time -v flowtrail replay SET --lake DIR/lake --state DIR/state
--outbox DIR/outbox --alerts-out DIR/alerts.jsonl --quiet [--no-detect]` after the set was
read once (warm page cache).
"""

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import ensure_gnu_time, parse_time, warm  # noqa: E402


def minor_faults(path):
    for line in open(path):
        name, _, value = line.strip().rpartition(": ")
        if name == "Minor (reclaiming a frame) page faults":
            return int(value)
    return None


def cpu(path):
    user = sys_ = 0.0
    for line in open(path):
        name, _, value = line.strip().rpartition(": ")
        if name == "User time (seconds)":
            user = float(value)
        elif name == "System time (seconds)":
            sys_ = float(value)
    return user, sys_


def alerts_sum(path):
    """md5 of the alerts' sorted lines (their order across threads is not fixed)."""
    if not os.path.exists(path):
        return "-"
    lines = sorted(open(path, "rb").read().splitlines())
    digest = hashlib.md5(b"\n".join(lines)).hexdigest()[:8]
    return f"{len(lines)} alerts, md5 {digest}"


def run(bin_, src, out, detect):
    os.makedirs(out)
    os.sync()
    timef = os.path.join(out, "time")
    cmd = [bin_, "replay", src, "--lake", f"{out}/lake", "--state", f"{out}/state",
           "--outbox", f"{out}/outbox", "--alerts-out", f"{out}/alerts.jsonl", "--quiet"]
    if not detect:
        cmd.append("--no-detect")
    with open(os.path.join(out, "log"), "w") as log:
        subprocess.run(["/usr/bin/time", "-v", "-o", timef, *cmd], cwd=out, stdout=log,
                       stderr=subprocess.STDOUT)
    secs, rss, status = parse_time(timef)
    user, sys_ = cpu(timef)
    return {"s": secs, "rss": rss, "status": status, "user": user, "sys": sys_,
            "faults": minor_faults(timef),
            "alerts": alerts_sum(os.path.join(out, "alerts.jsonl")) if detect else "-"}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("set")
    ap.add_argument("bins", nargs="+")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--detect", action="store_true")
    ap.add_argument("--out", default="/tmp/flowtrail-ab")
    a = ap.parse_args()
    ensure_gnu_time()
    bins = [os.path.abspath(b) for b in a.bins]
    for b in bins:
        if not os.access(b, os.X_OK):
            sys.exit(f"ab: {b} is not an executable")
    shutil.rmtree(a.out, ignore_errors=True)
    warm(a.set)
    runs = {b: [] for b in bins}
    for r in range(a.runs):
        order = bins[r % len(bins):] + bins[: r % len(bins)]
        for b in order:
            out = os.path.join(a.out, f"{len(runs[b])}-{bins.index(b)}")
            m = run(b, a.set, out, a.detect)
            runs[b].append(m)
            print(f"run {r + 1} {b}: {m['s']:.2f} s, user {m['user']:.2f} s, sys "
                  f"{m['sys']:.2f} s, {m['rss']:.0f} MiB, {m['faults']} faults, exit "
                  f"{m['status']}, {m['alerts']}", file=sys.stderr)
    print(f"| build | median s | runs s | user s | sys s | peak RSS MiB | minor faults | alerts |")
    print("|---|--:|---|--:|--:|--:|--:|---|")
    for b in bins:
        ms = runs[b]
        med = lambda k: statistics.median(m[k] for m in ms)  # noqa: E731
        each = ", ".join(f"{m['s']:.2f}" for m in ms)
        print(f"| {b} | {med('s'):.2f} | {each} | "
              f"{med('user'):.2f} | {med('sys'):.2f} | {med('rss'):.0f} | "
              f"{med('faults'):.0f} | {'; '.join(sorted({m['alerts'] for m in ms}))} |")
    shutil.rmtree(a.out, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
