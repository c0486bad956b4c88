#!/usr/bin/env python3
"""A benchmark matrix over input shapes: flowtrail, polars and DuckDB converting the same
files to zstd parquet, alternating runs, medians over N runs.

usage: bench/matrix.py [--data DIR] [--scale F] [--big] [--only SHAPE[,SHAPE]] [--runs N]
                       [--tools flowtrail,polars,duckdb] [--flowtrail-bin PATH]
                       [--gen-bin PATH] [--out FILE.md] [--note TEXT] [--list]
                       [--generate-only]

  --data DIR          where the sets are generated and the outputs written (default
                      /tmp/flowtrail-matrix); a set is reused when its marker file records
                      the same parameters
  --scale F           multiply every shape's record count (default 1: ~1-2M flow records or
                      200k CloudTrail events a shape)
  --big               add `v2-1k-big`: 20.2M v2 flow records in ~18,400 objects of ~1,100
  --only A,B          only these shapes (names from --list)
  --runs N            runs per tool and shape (default 3); the order of the tools rotates
                      from run to run
  --tools LIST        default flowtrail,polars,duckdb
  --flowtrail-bin P   default $CARGO_TARGET_DIR/release/flowtrail, then
                      ~/.cache/flowtrail-release/release/flowtrail
  --gen-bin P         flowtrail-gen (found the same way)
  --out FILE          the markdown table (default bench/results/matrix-<date>.md); the raw
                      runs go beside it as .json
  --note TEXT         a line for the results file (e.g. what else ran on the machine)
  --generate-only     write the sets and stop

Each tool runs under /usr/bin/time -v (wall time, peak RSS) after the set was read once
(warm page cache for all):
  flowtrail  flowtrail replay DIR --lake OUT/lake --no-detect --state OUT/state
             --alerts-out /dev/null --outbox OUT/outbox --quiet   (in OUT)
  polars     python3 bench/polars_convert.py DIR OUT
  duckdb     python3 bench/duckdb_convert.py DIR OUT
"""

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BENCH = os.path.join(REPO, "bench")

# name, what it is, generator options, flow records, CloudTrail events (before --scale)
SHAPES = [
    (
        "v2-50-many",
        "v2, ~50 records an object, 3 accounts x 3 regions, 5-minute objects over ~8 days "
        "(~20k objects, ~1,700 hour partitions)",
        ["--format", "v2", "--accounts", "3", "--regions", "3", "--records-per-object", "50"],
        1_000_000,
        0,
    ),
    (
        "v2-50-few",
        "v2, ~50 records an object, 1 account x 1 region, all in 4 hours "
        "(~20k objects, 4 partitions)",
        ["--format", "v2", "--accounts", "1", "--regions", "1", "--records-per-object", "50",
         "--hours", "4"],
        1_000_000,
        0,
    ),
    (
        "v2-1k-few",
        "v2, ~1,000 records an object, 1 account x 1 region, in 4 hours "
        "(~2,000 objects, 4 partitions)",
        ["--format", "v2", "--accounts", "1", "--regions", "1", "--records-per-object", "1000",
         "--hours", "4"],
        2_000_000,
        0,
    ),
    (
        "v2-1k-many",
        "v2, ~1,000 records an object, 3 accounts x 3 regions x 8 days x 24 h "
        "(~2,000 objects over ~1,700 hour partitions)",
        ["--format", "v2", "--accounts", "3", "--regions", "3", "--records-per-object", "1000",
         "--hours", "192"],
        2_000_000,
        0,
    ),
    (
        "v2-100k",
        "v2, ~100,000 records an object, 1 account x 1 region (~20 objects, 2 partitions)",
        ["--format", "v2", "--accounts", "1", "--regions", "1", "--records-per-object",
         "100000"],
        2_000_000,
        0,
    ),
    (
        "wide40-1k-few",
        "40-field custom format (v2-v8 fields, seeded random order), ~1,000 records an "
        "object, 1 account x 1 region, in 4 hours (~1,000 objects, 4 partitions)",
        ["--format", "wide40", "--accounts", "1", "--regions", "1", "--records-per-object",
         "1000", "--hours", "4"],
        1_000_000,
        0,
    ),
    (
        "wide40-1k-many",
        "40-field custom format, ~1,000 records an object, 3 accounts x 3 regions x 8 days "
        "x 24 h (~1,000 objects over ~1,000 partitions)",
        ["--format", "wide40", "--accounts", "3", "--regions", "3", "--records-per-object",
         "1000", "--hours", "192"],
        1_000_000,
        0,
    ),
    (
        "ct-40",
        "CloudTrail, ~40 events a document, 4 account/regions (~5,000 documents)",
        ["--events-per-file", "40"],
        0,
        200_000,
    ),
    (
        "ct-10k",
        "CloudTrail, ~10,000 events a document, 4 account/regions (~20 documents)",
        ["--events-per-file", "10000"],
        0,
        200_000,
    ),
]
BIG = (
    "v2-1k-big",
    "v2, ~1,100 records an object, 3 accounts x 3 regions, 5-minute objects over ~7 days "
    "(~18,400 objects, ~1,500 hour partitions)",
    ["--format", "v2", "--accounts", "3", "--regions", "3", "--records-per-object", "1100"],
    20_200_000,
    0,
)


def find_bin(name, given):
    if given:
        return os.path.abspath(given)
    dirs = []
    if os.environ.get("CARGO_TARGET_DIR"):
        dirs.append(os.path.join(os.environ["CARGO_TARGET_DIR"], "release"))
    dirs += [
        os.path.expanduser("~/.cache/flowtrail-release/release"),
        os.path.expanduser("~/.cache/flowtrail-target/release"),
        os.path.join(REPO, "target", "release"),
    ]
    for d in dirs:
        p = os.path.join(d, name)
        if os.access(p, os.X_OK):
            return p
    sys.exit(f"matrix: no release {name} (build it or pass --{name.split('-')[-1]}-bin)")


def ensure_gnu_time():
    ok = subprocess.run(["/usr/bin/time", "-v", "true"], capture_output=True).returncode == 0
    if not ok:
        print("installing GNU time", file=sys.stderr)
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "update"], check=True)
        subprocess.run(sudo + ["apt-get", "install", "-y", "time"], check=True)


def files_and_bytes(d):
    n = size = 0
    for root, _, names in os.walk(d):
        for name in names:
            n += 1
            size += os.path.getsize(os.path.join(root, name))
    return n, size


def warm(d):
    for root, _, names in os.walk(d):
        for name in names:
            with open(os.path.join(root, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def generate(gen, d, opts, flows, events):
    params = f"flow_records={flows} cloudtrail_events={events} " + " ".join(opts)
    marker = os.path.join(d, ".flowtrail-bench-complete")
    if os.path.exists(marker) and open(marker).read().strip() == params:
        print(f"   reusing {d}", file=sys.stderr)
        return
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    cmd = [gen, "bench", "--out", d, "--flow-records", str(flows),
           "--cloudtrail-events", str(events), *opts]
    t = time.time()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    print(f"   generated {d} in {time.time() - t:.0f} s", file=sys.stderr)
    with open(marker, "w") as f:
        f.write(params + "\n")


# GNU time's lines kept beside each run, to explain a run that is slower than its siblings.
TIME_DETAILS = {
    "User time (seconds)": "user_s",
    "System time (seconds)": "sys_s",
    "Major (requiring I/O) page faults": "major_faults",
    "Voluntary context switches": "voluntary_switches",
    "Involuntary context switches": "involuntary_switches",
    "File system inputs": "fs_inputs",
    "File system outputs": "fs_outputs",
}


def time_details(path):
    """The TIME_DETAILS figures of a GNU time -v file, by their short names."""
    out = {}
    for line in open(path):
        name, _, value = line.strip().rpartition(": ")
        if name in TIME_DETAILS:
            try:
                out[TIME_DETAILS[name]] = float(value)
            except ValueError:
                pass
    return out


def parse_time(path):
    secs = rss = status = None
    for line in open(path):
        line = line.strip()
        if line.startswith("Elapsed (wall clock) time"):
            v = line.rsplit(" ", 1)[1].split(":")
            secs = sum(float(x) * 60**i for i, x in enumerate(reversed(v)))
        elif line.startswith("Maximum resident set size"):
            rss = int(line.rsplit(" ", 1)[1]) / 1024
        elif line.startswith("Exit status"):
            status = int(line.rsplit(" ", 1)[1])
    return secs, rss, status


def count_rows(out):
    """Rows in every parquet file under out (polars, when installed)."""
    try:
        import polars as pl
    except ImportError:
        return None
    total = 0
    for root, _, names in os.walk(out):
        for n in names:
            if n.endswith(".parquet"):
                total += pl.scan_parquet(os.path.join(root, n)).select(pl.len()).collect().item()
    return total


def run_tool(tool, src, out, flowtrail_bin):
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    # Each run starts with nothing dirty in the page cache: polars and DuckDB exit without
    # syncing, and flowtrail's one `syncfs` per commit would otherwise write their output too.
    os.sync()
    timef = out + ".time"
    if tool == "flowtrail":
        cmd = [flowtrail_bin, "replay", src, "--lake", f"{out}/lake", "--no-detect",
               "--state", f"{out}/state", "--alerts-out", "/dev/null",
               "--outbox", f"{out}/outbox", "--quiet"]
    elif tool == "polars":
        cmd = [sys.executable, os.path.join(BENCH, "polars_convert.py"), src, out]
    else:
        cmd = [sys.executable, os.path.join(BENCH, "duckdb_convert.py"), src, out]
    log = open(out + ".log", "w")
    subprocess.run(["/usr/bin/time", "-v", "-o", timef, *cmd], cwd=out, stdout=log,
                   stderr=subprocess.STDOUT)
    log.close()
    secs, rss, status = parse_time(timef)
    data = os.path.join(out, "lake") if tool == "flowtrail" else out
    _, size = files_and_bytes(data)
    return {"seconds": secs, "rss_mib": rss, "status": status, "out_bytes": size,
            **time_details(timef)}


def machine():
    model = "?"
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem = 0
    for line in open("/proc/meminfo"):
        if line.startswith("MemTotal"):
            mem = int(line.split()[1]) / 1024 / 1024
    return {"nproc": os.cpu_count(), "cpu": model, "ram_gib": round(mem, 1),
            "kernel": platform.release()}


def versions(flowtrail_bin, tools):
    v = {"python": platform.python_version()}
    if "polars" in tools:
        v["polars"] = subprocess.run([sys.executable, "-c", "import polars; print(polars.__version__)"],
                                     capture_output=True, text=True).stdout.strip()
    if "duckdb" in tools:
        v["duckdb"] = subprocess.run([sys.executable, "-c", "import duckdb; print(duckdb.__version__)"],
                                     capture_output=True, text=True).stdout.strip()
    git = subprocess.run(["git", "-C", REPO, "log", "-1", "--format=%h %cs"],
                         capture_output=True, text=True).stdout.strip()
    v["flowtrail commit"] = git
    if "flowtrail" in tools and flowtrail_bin:
        fv = subprocess.run([flowtrail_bin, "--version"], capture_output=True, text=True)
        v["flowtrail"] = (fv.stdout.strip() or "?") + f" ({flowtrail_bin}, built "\
            f"{dt.datetime.fromtimestamp(os.path.getmtime(flowtrail_bin)):%Y-%m-%d %H:%M})"
    return v


def other_compiles():
    """Names of compiler processes on the machine (they make the numbers indicative only)."""
    seen = []
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            name = open(f"/proc/{pid}/comm").read().strip()
        except OSError:
            continue
        if name in ("rustc", "cc1", "cc1plus", "ld", "cargo", "rust-lld", "clang"):
            seen.append(name)
    return seen


def fmt_rate(x):
    return f"{x / 1e6:.2f}M" if x >= 1e6 else f"{x / 1e3:.0f}k"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="/tmp/flowtrail-matrix")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--big", action="store_true")
    ap.add_argument("--only", default="")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--tools", default="flowtrail,polars,duckdb")
    ap.add_argument("--flowtrail-bin")
    ap.add_argument("--gen-bin")
    ap.add_argument("--out")
    ap.add_argument("--note", default="")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--generate-only", action="store_true")
    a = ap.parse_args()

    shapes = SHAPES + ([BIG] if a.big else [])
    if a.list:
        for name, what, opts, flows, events in SHAPES + [BIG]:
            print(f"{name:<15} {flows + events:>11,}  {what}")
        return 0
    if a.only:
        want = a.only.split(",")
        shapes = [s for s in SHAPES + [BIG] if s[0] in want]
        if len(shapes) != len(want):
            sys.exit(f"matrix: unknown shape in {a.only} (see --list)")
    tools = [t for t in a.tools.split(",") if t]
    for t in tools:
        if t not in ("flowtrail", "polars", "duckdb"):
            sys.exit(f"matrix: unknown tool {t}")
    ensure_gnu_time()
    gen = find_bin("flowtrail-gen", a.gen_bin)
    need_ft = "flowtrail" in tools and not a.generate_only
    ft = find_bin("flowtrail", a.flowtrail_bin) if need_ft else None
    date = dt.date.today().isoformat()
    out_md = a.out or os.path.join(BENCH, "results", f"matrix-{date}.md")
    os.makedirs(os.path.dirname(os.path.abspath(out_md)), exist_ok=True)

    # Every run writes into a folder of its own, and the outputs are deleted only after the
    # whole matrix: ext4 avoids reusing an inode deleted in the last 30 s and scans past the
    # recently deleted ones, so a run right after deleting a lake of thousands of files spends
    # a third of its CPU allocating inodes (measured 2026-12-07: 2.2 s against 1.27 s for the
    # same run in a fresh folder; `storage/design.md`).
    out_root = os.path.join(a.data, "_out")
    if os.path.exists(out_root):
        shutil.rmtree(out_root, ignore_errors=True)
        os.sync()
        if not a.generate_only:
            print("waiting 35 s after deleting earlier outputs (ext4's recently deleted inodes)",
                  file=sys.stderr)
            time.sleep(35)
    started = dt.datetime.now().astimezone()
    load_start = os.getloadavg()
    compiles = set()
    results = []
    for name, what, opts, flows, events in shapes:
        flows, events = int(flows * a.scale), int(events * a.scale)
        src = os.path.join(a.data, name)
        print(f"== {name}: {what}", file=sys.stderr)
        generate(gen, src, opts, flows, events)
        if a.generate_only:
            continue
        n_files, in_bytes = files_and_bytes(os.path.join(src, "AWSLogs"))
        warm(src)
        runs = {t: [] for t in tools}
        rows = {}
        for r in range(a.runs):
            order = tools[r % len(tools):] + tools[: r % len(tools)]
            for tool in order:
                compiles.update(other_compiles())
                out = os.path.join(out_root, f"{name}-{tool}-run{r + 1}")
                m = run_tool(tool, src, out, ft)
                if tool not in rows:
                    rows[tool] = count_rows(os.path.join(out, "lake") if tool == "flowtrail" else out)
                print(f"   run {r + 1} {tool:<9} {m['seconds']:7.2f} s {m['rss_mib']:7.0f} MiB"
                      f"{'' if m['status'] == 0 else '  EXIT ' + str(m['status'])}", file=sys.stderr)
                runs[tool].append(m)
        med = {}
        for tool, ms in runs.items():
            ok = [m for m in ms if m["status"] == 0]
            if not ok:
                med[tool] = None
                continue
            med[tool] = {
                "seconds": statistics.median(m["seconds"] for m in ok),
                "rss_mib": statistics.median(m["rss_mib"] for m in ok),
                "out_bytes": statistics.median(m["out_bytes"] for m in ok),
                "runs": len(ok),
                "failed": len(ms) - len(ok),
                "rows_out": rows.get(tool),
            }
        results.append({"shape": name, "what": what, "flow_records": flows,
                        "cloudtrail_events": events, "objects": n_files, "input_bytes": in_bytes,
                        "median": med, "runs": runs})
    if a.generate_only:
        return 0
    load_end = os.getloadavg()
    compiles.update(other_compiles())

    # --- markdown
    m = machine()
    v = versions(ft, tools)
    lines = [f"# Benchmark matrix, {date}", ""]
    lines.append(f"Machine: {m['nproc']} cores, {m['cpu']}, {m['ram_gib']} GiB RAM, Linux {m['kernel']}.")
    lines.append("Versions: " + "; ".join(f"{k} {val}" for k, val in v.items()) + ".")
    lines.append(f"Run: {started:%Y-%m-%d %H:%M %Z}, scale {a.scale}, {a.runs} runs a tool "
                 f"(alternating order), medians; load average {load_start[0]:.1f} at the start, "
                 f"{load_end[0]:.1f} at the end.")
    if compiles:
        lines.append(f"**Other compiles ran on the machine during the run** "
                     f"({', '.join(sorted(compiles))} processes seen): the numbers are only indicative.")
    if a.note:
        lines.append(a.note)
    lines.append("")
    argv = list(sys.argv[1:])
    if "--note" in argv:
        argv[argv.index("--note") + 1] = "..."
    lines.append("Command: `python3 bench/matrix.py " + " ".join(argv) + "`. Each tool converts "
                 "the same files to zstd parquet: `flowtrail replay DIR --lake L --no-detect` "
                 "(partitioned lake), `bench/polars_convert.py`, `bench/duckdb_convert.py` "
                 "(one file per table). records/s = (flow records + CloudTrail events) / wall "
                 "seconds of the whole process; RSS = peak resident set (GNU time). "
                 "ft/x = flowtrail's value over the other tool's (time < 1: flowtrail faster).")
    lines.append("")
    lines.append("| shape | objects | input MiB | records | flowtrail rec/s | polars rec/s | DuckDB rec/s "
                 "| ft/polars time | ft/DuckDB time | flowtrail RSS MiB | polars RSS MiB | DuckDB RSS MiB "
                 "| ft/polars RSS | ft/DuckDB RSS |")
    lines.append("|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in results:
        recs = r["flow_records"] + r["cloudtrail_events"]
        md = r["median"]

        def g(tool, key):
            x = md.get(tool)
            return None if not x else x[key]

        def rate(tool):
            s = g(tool, "seconds")
            return fmt_rate(recs / s) if s else "-"

        def ratio(key, other):
            x, y = g("flowtrail", key), g(other, key)
            return f"{x / y:.2f}" if x and y else "-"

        def rss(tool):
            x = g(tool, "rss_mib")
            return f"{x:.0f}" if x else "-"

        lines.append(f"| {r['shape']} | {r['objects']:,} | {r['input_bytes'] / 1048576:.0f} | {recs:,} "
                     f"| {rate('flowtrail')} | {rate('polars')} | {rate('duckdb')} "
                     f"| {ratio('seconds', 'polars')} | {ratio('seconds', 'duckdb')} "
                     f"| {rss('flowtrail')} | {rss('polars')} | {rss('duckdb')} "
                     f"| {ratio('rss_mib', 'polars')} | {ratio('rss_mib', 'duckdb')} |")
    lines.append("")
    lines.append("Details (medians):")
    lines.append("")
    lines.append("| shape | tool | wall s | records/s | peak RSS MiB | output MiB | rows out | runs ok |")
    lines.append("|---|---|--:|--:|--:|--:|--:|--:|")
    for r in results:
        recs = r["flow_records"] + r["cloudtrail_events"]
        for tool in tools:
            x = r["median"].get(tool)
            if not x:
                lines.append(f"| {r['shape']} | {tool} | failed | | | | | 0/{a.runs} |")
                continue
            rows_out = "?" if x["rows_out"] is None else f"{x['rows_out']:,}"
            lines.append(f"| {r['shape']} | {tool} | {x['seconds']:.2f} | {recs / x['seconds']:,.0f} "
                         f"| {x['rss_mib']:.0f} | {x['out_bytes'] / 1048576:.1f} | {rows_out} "
                         f"| {x['runs']}/{a.runs} |")
    lines.append("")
    lines.append("Shapes:")
    lines.append("")
    for r in results:
        lines.append(f"- `{r['shape']}`: {r['what']}; {r['flow_records']:,} flow records, "
                     f"{r['cloudtrail_events']:,} CloudTrail events.")
    text = "\n".join(lines) + "\n"
    with open(out_md, "w") as f:
        f.write(text)
    with open(os.path.splitext(out_md)[0] + ".json", "w") as f:
        json.dump({"machine": m, "versions": v, "scale": a.scale, "runs": a.runs,
                   "other_compiles": sorted(compiles), "results": results}, f, indent=1)
    print(text)
    print(f"wrote {out_md}", file=sys.stderr)
    shutil.rmtree(out_root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
