#!/usr/bin/env python3
"""The analyst queries on one lake: `flowtrail query` beside DuckDB reading the same parquet
files, alternating runs, medians.

usage: bench/query_vs_duckdb.py LAKE [--runs N] [--flowtrail-bin PATH] [--out FILE.md]

LAKE is a flowtrail lake (`replay ... --lake LAKE`). DuckDB reads `LAKE/flows/**/*.parquet`
with hive partitioning, as an analyst would point it (or Athena) at the lake. Each run is a
fresh process on both sides, after one warm-up run of each so the page cache holds the files.
flowtrail's time is the whole process (start, listing the lake, planning, the query, printing);
DuckDB's is measured inside its process from `connect()` to the fetched result, so Python's
start and the module import are not counted against it. Peak RSS from /usr/bin/time -v. Results are compared (row counts and the first row) so that
both engines answer the same question.
"""

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# name, SQL for flowtrail (table `flows`), and the same for DuckDB (table `flows` is a view)
QUERIES = [
    (
        "bytes per interface per hour",
        "SELECT interface_id, date_trunc('hour', event_time) AS h, sum(bytes) AS b "
        "FROM flows GROUP BY interface_id, date_trunc('hour', event_time) "
        "ORDER BY b DESC, interface_id, h LIMIT 20",
    ),
    (
        "top talkers on a day",
        "SELECT srcaddr, sum(bytes) AS b FROM flows "
        "WHERE event_time >= TIMESTAMP '{day} 00:00:00' AND event_time < TIMESTAMP '{day} 00:00:00' + INTERVAL '1 day' "
        "GROUP BY srcaddr ORDER BY b DESC, srcaddr LIMIT 20",
    ),
    (
        "action x port",
        "SELECT action, dstport, count(*) AS n FROM flows "
        "GROUP BY action, dstport ORDER BY n DESC, action, dstport LIMIT 50",
    ),
]


def flowtrail_bin(arg):
    if arg:
        return arg
    for d in (os.environ.get("CARGO_TARGET_DIR"), os.path.expanduser("~/.cache/flowtrail-release")):
        if d and os.path.exists(os.path.join(d, "release", "flowtrail")):
            return os.path.join(d, "release", "flowtrail")
    sys.exit("no release flowtrail binary: pass --flowtrail-bin")


def timed(cmd):
    """(seconds, peak RSS MiB, stdout) of one run under /usr/bin/time -v."""
    t0 = time.monotonic()
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True)
    secs = time.monotonic() - t0
    if p.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{p.stderr[-2000:]}")
    rss = 0
    for line in p.stderr.splitlines():
        if "Maximum resident set size" in line:
            rss = int(line.split(":")[1]) / 1024
    return secs, rss, p.stdout


DUCK = """
import duckdb, sys, json, time
t0 = time.monotonic()
con = duckdb.connect()
glob = sys.argv[1].replace("'", "''")
con.execute(f"CREATE VIEW flows AS SELECT * FROM read_parquet('{glob}', hive_partitioning=true, union_by_name=true)")
rows = con.execute(sys.argv[2]).fetchall()
print(json.dumps([len(rows), time.monotonic() - t0]))
"""


def first_day(lake):
    days = set()
    for root, dirs, _files in os.walk(os.path.join(lake, "flows")):
        for d in dirs:
            if d.startswith("date="):
                days.add(d[5:])
    if not days:
        sys.exit(f"{lake} has no flows partitions")
    return sorted(days)[len(days) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lake")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--flowtrail-bin")
    ap.add_argument("--out")
    a = ap.parse_args()
    ft = flowtrail_bin(a.flowtrail_bin)
    day = first_day(a.lake)
    glob = os.path.join(a.lake, "flows", "**", "*.parquet")
    rows = []
    for name, sql in QUERIES:
        sql = sql.format(day=day)
        cmds = {
            "flowtrail": [ft, "query", sql, "--lake", a.lake, "--format", "csv"],
            "duckdb": [sys.executable, "-c", DUCK, glob, sql],
        }
        for c in cmds.values():
            timed(c)  # warm-up
        runs = {k: [] for k in cmds}
        out = {}
        for i in range(a.runs):
            order = list(cmds) if i % 2 == 0 else list(reversed(list(cmds)))
            for k in order:
                secs, rss, stdout = timed(cmds[k])
                if k == "duckdb":
                    # DuckDB's own time: without starting Python and importing the module
                    secs = json.loads(stdout)[1]
                runs[k].append((secs, rss))
                out[k] = stdout
        ft_lines = [l for l in out["flowtrail"].splitlines() if l.strip()]
        duck_n = json.loads(out["duckdb"])[0]
        same = (len(ft_lines) - 1) == duck_n
        med = {k: statistics.median(s for s, _ in v) for k, v in runs.items()}
        rss = {k: max(r for _, r in v) for k, v in runs.items()}
        rows.append((name, med["flowtrail"], med["duckdb"], rss["flowtrail"], rss["duckdb"], same))
        print(f"{name}: flowtrail {med['flowtrail']:.3f} s, duckdb {med['duckdb']:.3f} s, same rows: {same}", flush=True)
    files = sum(len(f) for _r, _d, f in os.walk(os.path.join(a.lake, "flows")))
    lines = [
        f"# `flowtrail query` beside DuckDB, {dt.date.today()}",
        "",
        f"Lake: `{a.lake}` ({files} flows files), day {day}; {platform.machine()}, "
        f"{os.cpu_count()} cores; {a.runs} alternating runs a query after a warm-up, medians; "
        "flowtrail: whole process; DuckDB: connect to result inside its process (Python start and import not counted).",
        "",
        "| query | flowtrail s | DuckDB s | ratio (DuckDB/flowtrail, >1: flowtrail faster) | flowtrail peak MiB | DuckDB peak MiB | same row count |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, f, d, rf, rd, same in rows:
        lines.append(f"| {name} | {f:.3f} | {d:.3f} | {d / f:.2f} | {rf:.0f} | {rd:.0f} | {same} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if a.out:
        with open(a.out, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
