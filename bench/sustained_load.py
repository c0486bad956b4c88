#!/usr/bin/env python3
"""Sustained load on `flowtrail serve`, against moto server on this machine.

Starts moto server (a bucket whose ObjectCreated notifications go to an SQS queue) and
`flowtrail serve` (that queue, a local lake, detection on, alerts to a JSON lines file,
/metrics on a local port), then PUTs gzip'd VPC flow-log objects (default v2 format, a fleet
of a few dozen ENIs, mixed ACCEPT/REJECT, record times near now, keys in the AWS layout) at a
steady rate and measures, per object, the notification-to-lake lag: the time from the PUT's
completion (moto sends the notification inside the PUT) to the lake ledger record
(`<lake>/_ledger/<commit>.json`) that names the object's key. The ledger file's ctime is its
rename into place (the commit point), so the lag does not depend on how often the ledger
is polled. Also sampled every few seconds: the RSS of serve (VmRSS, VmHWM), the CPU of serve,
moto and this script, the backlog (objects put, not yet in the ledger) and /metrics.

Steady mode (default): one rate for --minutes; reports objects/s and records/s (lake rows),
lag p50/p90/p99/max over the steady part (after --warmup), per-minute lag and backlog, RSS
start/min/max/end and its slope over the second half, serve's own lag histogram, and the
serve log's warnings and errors.

Ramp mode (--ramp): steps of increasing rate (--ramp-rates, --step-seconds each); per step the
achieved throughput, lag p50/p99, and whether the backlog or the lag grew during the step;
prints the first rate where it did (the knee).

    bench/sustained_load.py --bin /path/to/flowtrail [--rate 10] [--minutes 10] [--out r.md]
    bench/sustained_load.py --bin /path/to/flowtrail --ramp [--ramp-rates 5,10,20,40,80,160]

Bodies are generated before the PUTs start (a pool of distinct bodies per minute of the run,
reused under distinct keys), so generation does not limit the rate. moto is one Python
process: at high rates it, not serve, may be the limit; the CPU columns show which (and
bench/moto_sqs_depth.py how moto's SQS slows down as its queue gets deeper). Results:
bench/results/sustained_load.md.
"""

import argparse
import bisect
import gzip
import json
import os
import queue
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3
import botocore.config


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(url, limit=60, proc=None):
    t = time.time()
    while time.time() - t < limit:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {limit} s")


def pct(values, p):
    """Nearest-rank percentile of a list (None if empty)."""
    if not values:
        return None
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(round(p / 100 * len(v))) - 1))]


def slope(points):
    """Least-squares slope of (x, y) points (None with fewer than 2 distinct x)."""
    n = len(points)
    if n < 2:
        return None
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in points) / sxx


def fmt(v, spec=".2f", none="-"):
    return none if v is None else format(v, spec)


# ---------------------------------------------------------------------------------------------
# The fleet and the flow-log bodies

FLOW_LOGS = [  # (account, region, flow log id)
    ("012345678901", "us-east-1", "fl-0a1b2c3d4e5f60718"),
    ("012345678901", "eu-west-1", "fl-09f8e7d6c5b4a3921"),
    ("210987654321", "us-east-1", "fl-05c6d7e8f9a0b1c2d"),
]
HEADER = ("version account-id interface-id srcaddr dstaddr srcport dstport protocol packets "
          "bytes start end action log-status\n")
ROLES = [  # role, service ports (proto 6)
    ("web", [443, 80]),
    ("app", [8080, 8443]),
    ("db", [5432, 3306]),
    ("bastion", [22]),
    ("cache", [6379]),
]


def make_fleet(n_enis, rng):
    """ENIs spread over the flow logs: (flow log index, eni id, private ip, role, ports)."""
    fleet = []
    for i in range(n_enis):
        fl = i % len(FLOW_LOGS)
        role, ports = ROLES[i % len(ROLES)]
        eni = "eni-%017x" % rng.getrandbits(68)
        ip = f"10.{fl}.{rng.randrange(0, 16)}.{rng.randrange(4, 250)}"
        fleet.append((fl, eni, ip, role, ports))
    return fleet


def public_ip(rng):
    while True:
        a = rng.randrange(1, 224)
        if a not in (10, 127, 169, 172, 192):
            return f"{a}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"


class Generator:
    """Flow-log bodies for one fleet: traffic to and from the ENIs of each flow log."""

    def __init__(self, n_enis, seed):
        self.rng = random.Random(seed)
        self.fleet = make_fleet(n_enis, self.rng)
        self.by_fl = [[e for e in self.fleet if e[0] == i] for i in range(len(FLOW_LOGS))]
        self.scanners = [public_ip(self.rng) for _ in range(20)]
        self.clients = [public_ip(self.rng) for _ in range(2000)]
        self.upstreams = [public_ip(self.rng) for _ in range(200)]

    def body(self, fl, n, t_end):
        """A gzip'd object of flow log `fl` with `n` records ending near `t_end` (unix s)."""
        rng = self.rng
        acct = FLOW_LOGS[fl][0]
        enis = self.by_fl[fl]
        peers = [e for e in self.fleet if e[0] == fl]
        out = [HEADER]
        for _ in range(n):
            _, eni, ip, role, ports = rng.choice(enis)
            start = t_end - rng.randrange(60, 600)
            end = start + rng.randrange(1, 60)
            r = rng.random()
            if r < 0.50:    # inbound from clients to the ENI's service
                src, dst = rng.choice(self.clients), ip
                sp, dp, proto = rng.randrange(1024, 65536), rng.choice(ports), 6
                pk = rng.randrange(2, 200)
                by, act = pk * rng.randrange(60, 1400), "ACCEPT"
            elif r < 0.67:  # outbound
                src, dst = ip, rng.choice(self.upstreams)
                if rng.random() < 0.2:
                    sp, dp, proto = rng.randrange(1024, 65536), 53, 17
                else:
                    sp, dp, proto = rng.randrange(1024, 65536), rng.choice((443, 443, 80)), 6
                pk = rng.randrange(1, 500)
                by, act = pk * rng.randrange(60, 1400), "ACCEPT"
            elif r < 0.82:  # east-west
                _, _, pip, _, pports = rng.choice(peers)
                src, dst = pip, ip
                sp, dp, proto = rng.randrange(1024, 65536), rng.choice(ports), 6
                pk = rng.randrange(1, 300)
                by, act = pk * rng.randrange(60, 1400), "ACCEPT"
            elif r < 0.97:  # rejected: scanners and stray clients
                src = rng.choice(self.scanners) if rng.random() < 0.7 else rng.choice(self.clients)
                dst = ip
                sp, dp = rng.randrange(1024, 65536), rng.randrange(1, 65536)
                proto = 6 if rng.random() < 0.85 else 17
                pk = rng.randrange(1, 3)
                by, act = pk * rng.randrange(40, 80), "REJECT"
            else:           # no data in the window
                out.append(f"2 {acct} {eni} - - - - - - - {start} {end} - NODATA\n")
                continue
            out.append(f"2 {acct} {eni} {src} {dst} {sp} {dp} {proto} {pk} {by} {start} {end} {act} OK\n")
        return gzip.compress("".join(out).encode(), compresslevel=6)


class Plan:
    """The PUT schedule: object i at offset i/rate within its step; and the bodies."""

    def __init__(self, steps, a):
        self.steps = steps  # [(rate, seconds)]
        self.slots = []     # (offset s, step index)
        base = 0.0
        for si, (rate, secs) in enumerate(steps):
            n = int(round(rate * secs))
            self.slots.extend((base + i / rate, si) for i in range(n))
            base += secs
        self.duration = base
        self.gen = Generator(a.enis, a.seed)
        self.rmin, self.rmax = a.records_min, a.records_max
        self.pool = {}      # minute -> [(fl, records, body)]
        self.pool_per_minute = a.pool_per_minute

    def pregenerate(self, lead):
        """Bodies for every minute of the schedule, record times near when they are PUT."""
        per_minute = {}
        for off, _ in self.slots:
            m = int(off // 60)
            per_minute[m] = per_minute.get(m, 0) + 1
        total = sum(min(n, self.pool_per_minute) for n in per_minute.values())
        t0 = time.time()
        # Measure the cost of a body to aim the record times at the real PUT times.
        probe = [self.gen.body(0, (self.rmin + self.rmax) // 2, int(t0)) for _ in range(3)]
        cost = (time.time() - t0) / len(probe)
        start_est = time.time() + cost * total + lead
        rng = random.Random(7)
        done = 0
        for m, n in sorted(per_minute.items()):
            bodies = []
            for j in range(min(n, self.pool_per_minute)):
                fl = j % len(FLOW_LOGS)
                k = rng.randint(self.rmin, self.rmax)
                # The 10-minute aggregation window a delivered object covers ends a minute
                # or so before it is delivered.
                t_end = int(start_est + m * 60 + rng.uniform(0, 60) - 60)
                bodies.append((fl, k, self.gen.body(fl, k, t_end)))
                done += 1
            self.pool[m] = bodies
        return done, time.time() - t0, sum(len(b[2]) for v in self.pool.values() for b in v)

    def body_for(self, i):
        off, _ = self.slots[i]
        bodies = self.pool[int(off // 60)]
        return bodies[i % len(bodies)]


def object_key(fl, i, now):
    acct, region, flid = FLOW_LOGS[fl]
    tm = time.gmtime(now - now % 300)
    day = time.strftime("%Y/%m/%d", tm)
    stamp = time.strftime("%Y%m%dT%H%MZ", tm)
    h = (i * 2654435761 + 0x5bd1e995) & 0xFFFFFFFF  # a bijection of i: unique per object
    return (f"AWSLogs/{acct}/vpcflowlogs/{region}/{day}/"
            f"{acct}_vpcflowlogs_{region}_{flid}_{stamp}_{h:08x}.log.gz")


# ---------------------------------------------------------------------------------------------
# Observers: the ledger, /proc, /metrics

class Ledger(threading.Thread):
    """Polls `<lake>/_ledger/*.json`: when each key first appears (the file's ctime: its
    rename into place), and the rows of each commit."""

    def __init__(self, lake, every):
        super().__init__(daemon=True)
        self.dir = os.path.join(lake, "_ledger")
        self.every = every
        self.seen = set()
        self.appeared = {}      # key -> unix time
        self.commits = []       # (unix time, sources, rows dict)
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.errors = 0
        self.duplicates = []    # keys named by more than one commit

    def poll(self):
        try:
            names = os.listdir(self.dir)
        except FileNotFoundError:
            return
        for n in names:
            if not n.endswith(".json") or n in self.seen:
                continue
            p = os.path.join(self.dir, n)
            try:
                st = os.stat(p)
                with open(p) as f:
                    rec = json.load(f)
            except (OSError, ValueError):
                self.errors += 1
                continue
            self.seen.add(n)
            t = st.st_ctime_ns / 1e9
            with self.lock:
                self.commits.append((t, len(rec.get("sources", [])), rec.get("rows", {})))
                for s in rec.get("sources", []):
                    if s["key"] in self.appeared:
                        self.duplicates.append(s["key"])
                    self.appeared.setdefault(s["key"], t)

    def count(self):
        with self.lock:
            return len(self.appeared)

    def run(self):
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(self.every)
        self.poll()


CLK = os.sysconf("SC_CLK_TCK")


def proc_status(pid):
    """(VmRSS MiB, VmHWM MiB) of a process, or (None, None)."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("VmRSS:", "VmHWM:")):
                    k, v = line.split(":")
                    out[k] = int(v.split()[0]) / 1024
    except OSError:
        pass
    return out.get("VmRSS"), out.get("VmHWM")


def proc_cpu(pid):
    """CPU seconds (user + system) of a process and its reaped children's threads."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK
    except (OSError, IndexError, ValueError):
        return None


def scrape(url):
    try:
        return urllib.request.urlopen(url, timeout=5).read().decode()
    except Exception:
        return None


def metric(sample, name, scale=1.0):
    """A gauge or counter from a sample's /metrics scrape, scaled; None when absent."""
    v = ((sample or {}).get("metrics") or {}).get((name, ""))
    return None if v is None else v * scale


def parse_metrics(text):
    """{(name, labels): value} of the Prometheus text format."""
    out = {}
    for line in (text or "").splitlines():
        if not line or line.startswith("#"):
            continue
        m = re.match(r"([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m:
            try:
                out[(m.group(1), m.group(2) or "")] = float(m.group(3))
            except ValueError:
                pass
    return out


def lag_histogram(metrics):
    """[(le, cumulative count)], count and sum of flowtrail_notification_lag_seconds."""
    buckets = []
    for (name, labels), v in metrics.items():
        if name == "flowtrail_notification_lag_seconds_bucket":
            le = re.search(r'le="([^"]+)"', labels).group(1)
            buckets.append((float("inf") if le == "+Inf" else float(le), v))
    buckets.sort()
    return (buckets, metrics.get(("flowtrail_notification_lag_seconds_count", ""), 0.0),
            metrics.get(("flowtrail_notification_lag_seconds_sum", ""), 0.0))


def hist_quantile(q, buckets, count):
    """Prometheus histogram_quantile: linear within the bucket holding the q-th observation."""
    if not buckets or count <= 0:
        return None
    rank = q * count
    prev_le, prev_c = 0.0, 0.0
    for le, c in buckets:
        if c >= rank:
            if le == float("inf"):
                return prev_le
            if c == prev_c:
                return le
            return prev_le + (le - prev_le) * (rank - prev_c) / (c - prev_c)
        prev_le, prev_c = le, c
    return prev_le


def hist_delta(h1, h0):
    """Histogram h1 minus h0 (both from lag_histogram)."""
    b0 = dict(h0[0])
    return ([(le, c - b0.get(le, 0.0)) for le, c in h1[0]], h1[1] - h0[1], h1[2] - h0[2])


class Sampler(threading.Thread):
    """Every `every` s: serve RSS/HWM, CPU of serve, moto and this script, backlog, load
    average and /metrics."""

    def __init__(self, every, serve_pid, moto_pid, metrics_url, backlog, rss_cap, on_cap):
        super().__init__(daemon=True)
        self.rss_cap, self.on_cap, self.capped = rss_cap, on_cap, None
        self.every = every
        self.pids = {"serve": serve_pid, "moto": moto_pid, "bench": os.getpid()}
        self.url = metrics_url
        self.backlog = backlog
        self.samples = []   # dict per sample
        self.stop = threading.Event()

    def sample(self):
        rss, hwm = proc_status(self.pids["serve"])
        mrss, _ = proc_status(self.pids["moto"])
        s = {"t": time.time(), "rss": rss, "hwm": hwm, "moto_rss": mrss,
             "load": os.getloadavg()[0], "backlog": self.backlog()}
        for k, pid in self.pids.items():
            s["cpu_" + k] = proc_cpu(pid)
        s["metrics"] = parse_metrics(scrape(self.url))
        self.samples.append(s)
        if self.rss_cap and rss is not None and rss > self.rss_cap and self.capped is None:
            self.capped = (s["t"], rss)
            self.on_cap()

    def run(self):
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(self.every)


def cpu_share(samples, t0, t1, who):
    """CPU use of `who` between t0 and t1, in cores (1.0 = one core busy)."""
    inside = [s for s in samples if t0 - 1e-6 <= s["t"] <= t1 + 1e-6 and s["cpu_" + who] is not None]
    if len(inside) < 2:
        return None
    a, b = inside[0], inside[-1]
    return (b["cpu_" + who] - a["cpu_" + who]) / max(1e-9, b["t"] - a["t"])


def nearest(samples, t):
    return min(samples, key=lambda s: abs(s["t"] - t)) if samples else None


# ---------------------------------------------------------------------------------------------
# The run

class Putter:
    """Paced PUTs: a dispatcher releases object i at start + offset i, PUT threads send it."""

    def __init__(self, plan, clients, bucket):
        self.plan = plan
        self.clients = clients
        self.bucket = bucket
        self.q = queue.Queue()
        self.done = {}        # key -> (PUT completion unix time, step, lines, PUT start)
        self.sched = {}       # key -> scheduled unix time
        self.lock = threading.Lock()
        self.failures = []
        self.stop = threading.Event()
        self.start_wall = None

    def worker(self, client):
        while True:
            job = self.q.get()
            if job is None:
                return
            i, key, body, step, recs, due = job
            t_req = time.time()
            try:
                client.put_object(Bucket=self.bucket, Key=key, Body=body)
            except Exception as e:  # noqa: BLE001 - counted and reported
                with self.lock:
                    self.failures.append((key, repr(e)))
                continue
            t = time.time()
            with self.lock:
                self.done[key] = (t, step, recs, t_req)
                self.sched[key] = due

    def put_count(self):
        with self.lock:
            return len(self.done)

    def run(self, on_step=None):
        threads = [threading.Thread(target=self.worker, args=(c,), daemon=True) for c in self.clients]
        for t in threads:
            t.start()
        start_mono = time.monotonic()
        self.start_wall = time.time() - (time.monotonic() - start_mono)
        last_step = -1
        try:
            for i, (off, step) in enumerate(self.plan.slots):
                if self.stop.is_set():
                    break
                delay = start_mono + off - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                if step != last_step:
                    if on_step and on_step(step, last_step, self.start_wall + off) is False:
                        break
                    last_step = step
                fl, recs, body = self.plan.body_for(i)
                now = time.time()
                self.q.put((i, object_key(fl, i, int(now)), body, step, recs, self.start_wall + off))
        finally:
            for _ in threads:
                self.q.put(None)
            for t in threads:
                t.join()
        return time.time()


def log_findings(path):
    """(warn count, error count, first lines of each kind) of the serve log."""
    warns, errors, examples = 0, 0, []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                clean = re.sub(r"\x1b\[[0-9;]*m", "", line).rstrip()
                if re.search(r"\bERROR\b", clean):
                    errors += 1
                elif re.search(r"\bWARN\b", clean):
                    warns += 1
                else:
                    continue
                if len(examples) < 8:
                    examples.append(clean[:400])
    except OSError:
        pass
    return warns, errors, examples


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bin", default=None, help="flowtrail binary (default target/release/flowtrail)")
    ap.add_argument("--rate", type=float, default=10.0, help="objects/s (steady mode)")
    ap.add_argument("--minutes", type=float, default=10.0, help="steady mode duration")
    ap.add_argument("--warmup", type=float, default=30.0,
                    help="seconds at the start of a steady run left out of its figures")
    ap.add_argument("--ramp", action="store_true", help="steps of increasing rate")
    ap.add_argument("--ramp-rates", default="5,10,20,40,80,160", help="objects/s of the steps")
    ap.add_argument("--step-seconds", type=float, default=60.0)
    ap.add_argument("--ramp-continue", type=int, default=1,
                    help="steps run after the first growing step before the ramp stops (-1: all)")
    ap.add_argument("--records-min", type=int, default=500)
    ap.add_argument("--records-max", type=int, default=2000)
    ap.add_argument("--enis", type=int, default=36)
    ap.add_argument("--pool-per-minute", type=int, default=120,
                    help="distinct bodies per minute of the schedule (reused under distinct keys)")
    ap.add_argument("--put-threads", type=int, default=8)
    ap.add_argument("--workers", type=int, default=None, help="serve decode threads (config `workers`)")
    ap.add_argument("--wait-seconds", type=int, default=5, help="serve [sqs] wait_seconds")
    ap.add_argument("--batch", type=int, default=100, help="serve [sqs] max_messages_per_cycle")
    ap.add_argument("--no-detect", action="store_true", help="serve without detection")
    ap.add_argument("--hold-memory-mb", type=int, default=None,
                    help="serve [detection] hold_memory_mb (held rows past it spill to disk)")
    ap.add_argument("--grace-minutes", type=int, default=None,
                    help="serve [detection] grace_minutes (small: an hour closes during the run)")
    ap.add_argument("--sample-seconds", type=float, default=5.0)
    ap.add_argument("--poll-seconds", type=float, default=0.2, help="ledger poll interval")
    ap.add_argument("--drain-timeout", type=float, default=300.0,
                    help="seconds to wait after the last PUT for every object to land")
    ap.add_argument("--max-rss-mib", type=float, default=6144,
                    help="stop the PUTs when serve's RSS passes this (the machine is shared; 0: no limit)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default=None, help="also write the summary as markdown")
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    if a.records_min > a.records_max or a.records_min < 1:
        sys.exit("--records-min must be 1..--records-max")

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    binary = a.bin or os.path.join(target, "release/flowtrail")
    if not os.path.exists(binary):
        sys.exit(f"no flowtrail binary at {binary}: cargo build --release, or --bin")

    if a.ramp:
        rates = [float(r) for r in a.ramp_rates.split(",") if r.strip()]
        steps = [(r, a.step_seconds) for r in rates]
    else:
        steps = [(a.rate, a.minutes * 60)]
    plan = Plan(steps, a)

    # Ctrl-C and SIGTERM both unwind through the finally below.
    def on_term(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)  # also when started with SIGINT ignored (`cmd &`)

    work = tempfile.mkdtemp(prefix="flowtrail-load-")
    mport, sport = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{mport}"
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(mport)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    serve = None
    serve_exit = None
    sampler = ledger = None
    report = []
    try:
        wait_http(endpoint + "/moto-api/", proc=moto)
        kw = dict(endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
        s3, sqs = boto3.client("s3", **kw), boto3.client("sqs", **kw)
        s3.create_bucket(Bucket="logs")
        q = sqs.create_queue(QueueName="log-objects")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket="logs", NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": qarn, "Events": ["s3:ObjectCreated:*"]}]})
        lake = os.path.join(work, "lake")
        conf = os.path.join(work, "flowtrail.toml")
        with open(conf, "w") as f:
            f.write(f'lake = "{lake}"\nstate = "{work}/state"\nlisten = "127.0.0.1:{sport}"\n'
                    f'endpoint_url = "{endpoint}"\n')
            if a.workers:
                f.write(f"workers = {a.workers}\n")
            f.write(f'\n[sqs]\nqueue_url = "{q}"\nwait_seconds = {a.wait_seconds}\n'
                    f"max_messages_per_cycle = {a.batch}\n")
            f.write(f"\n[detection]\nenabled = {'false' if a.no_detect else 'true'}\n")
            if a.hold_memory_mb is not None:
                f.write(f"hold_memory_mb = {a.hold_memory_mb}\n")
            if a.grace_minutes is not None:
                f.write(f"grace_minutes = {a.grace_minutes}\n")
            f.write(f'\n[alerts]\njsonl = "{work}/alerts.jsonl"\noutbox = "{work}/outbox"\n')
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
        env.pop("AWS_ENDPOINT_URL", None)
        log_path = os.path.join(work, "serve.log")
        log = open(log_path, "w")
        serve = subprocess.Popen([binary, "serve", "--config", conf], cwd=work, env=env,
                                 stdout=subprocess.DEVNULL, stderr=log, start_new_session=True)
        wait_http(f"http://127.0.0.1:{sport}/healthz", proc=serve)

        gen_n, gen_s, gen_bytes = plan.pregenerate(lead=2.0)
        n_total = len(plan.slots)
        print(f"generated {gen_n} distinct bodies ({gen_bytes / 2**20:.1f} MiB gzip) in {gen_s:.1f} s "
              f"for {n_total} objects over {plan.duration:.0f} s", flush=True)

        cfg = botocore.config.Config(max_pool_connections=4, retries={"max_attempts": 2})
        clients = [boto3.client("s3", config=cfg, **kw) for _ in range(a.put_threads)]
        putter = Putter(plan, clients, "logs")
        ledger = Ledger(lake, a.poll_seconds)
        ledger.start()

        def backlog():
            with putter.lock:
                keys = list(putter.done)
            with ledger.lock:
                return sum(1 for k in keys if k not in ledger.appeared)

        sampler = Sampler(a.sample_seconds, serve.pid, moto.pid,
                          f"http://127.0.0.1:{sport}/metrics", backlog, a.max_rss_mib,
                          putter.stop.set)
        sampler.start()
        backlog_series = []   # (t, backlog) every second
        bl_stop = threading.Event()

        def backlog_loop():
            while not bl_stop.is_set():
                backlog_series.append((time.time(), backlog()))
                bl_stop.wait(1.0)
        bl_thread = threading.Thread(target=backlog_loop, daemon=True)
        bl_thread.start()

        # Ramp: stop a few steps after the first one whose backlog grew.
        step_bounds = {}
        growing_steps = []

        def on_step(step, prev, due):
            if prev >= 0:
                step_bounds[prev][1] = due
                if step_grew_quick(prev):
                    growing_steps.append(prev)
                if a.ramp_continue >= 0 and growing_steps and \
                        prev - growing_steps[0] >= a.ramp_continue:
                    print(f"stopping the ramp after step {prev + 1} ({steps[prev][0]:g}/s)", flush=True)
                    return False
            step_bounds[step] = [due, None]
            rate, secs = steps[step]
            print(f"{time.strftime('%H:%M:%S')} step {step + 1}/{len(steps)}: {rate:g} objects/s "
                  f"for {secs:g} s; backlog {backlog()}", flush=True)
            return True

        def step_grew_quick(si):
            """During the run: did the backlog grow over step si (from the 1 s series)?"""
            t0, t1 = step_bounds[si]
            pts = [(t - t0, b) for t, b in backlog_series if t0 <= t <= t1]
            if len(pts) < 5:
                return False
            rate = steps[si][0]
            s = slope(pts) or 0.0
            return s * (t1 - t0) > max(10.0, 2.0 * rate)

        print(f"{time.strftime('%H:%M:%S')} PUTs start", flush=True)
        t_put_end = putter.run(on_step if a.ramp else None)
        if step_bounds:
            step_bounds[max(step_bounds)][1] = t_put_end
        t_start = putter.start_wall
        n_put = putter.put_count()
        print(f"{time.strftime('%H:%M:%S')} PUTs done: {n_put} objects, {len(putter.failures)} failed; "
              f"waiting for the lake", flush=True)
        deadline = time.time() + a.drain_timeout
        while time.time() < deadline:
            if backlog() == 0:
                break
            if serve.poll() is not None:
                print(f"serve exited with {serve.returncode} during the drain", flush=True)
                break
            time.sleep(0.5)
        t_drained = time.time()
        time.sleep(max(a.poll_seconds * 2, a.sample_seconds))  # a last sample after the drain
        bl_stop.set()
        sampler.stop.set()
        sampler.join()
        ledger.stop.set()
        ledger.join()
        final_metrics_text = scrape(f"http://127.0.0.1:{sport}/metrics")

        # Stop serve: SIGTERM, it must exit 0.
        t = time.time()
        serve.send_signal(signal.SIGTERM)
        try:
            serve_exit = serve.wait(90)
        except subprocess.TimeoutExpired:
            serve_exit = "did not exit within 90 s of SIGTERM"
        stop_secs = time.time() - t
        log.close()

        # -------------------------------------------------------------------------------------
        # Figures
        done = dict(putter.done)
        appeared = dict(ledger.appeared)
        lag = {k: appeared[k] - v[0] for k, v in done.items() if k in appeared}
        lag_req = {k: appeared[k] - v[3] for k, v in done.items() if k in appeared}
        missing = [k for k in done if k not in appeared]
        commits = list(ledger.commits)
        samples = sampler.samples
        final_metrics = parse_metrics(final_metrics_text)
        warns, errors, examples = log_findings(log_path)
        load = os.getloadavg()
        out = []

        def p(line=""):
            print(line)
            out.append(line)

        def table(header, rows):
            p("| " + " | ".join(header) + " |")
            p("|" + "|".join("---" for _ in header) + "|")
            for r in rows:
                p("| " + " | ".join(str(c) for c in r) + " |")
            p()

        def window_figures(t0, t1):
            """Lake throughput between t0 and t1 (by commit time) and lag of the objects PUT
            in that span."""
            secs = max(1e-9, t1 - t0)
            objs = sum(1 for k, t in appeared.items() if t0 <= t < t1 and k in done)
            rows = sum(r.get("flows", 0) for t, _, r in commits if t0 <= t < t1)
            lags = [lag[k] for k, v in done.items() if t0 <= v[0] < t1 and k in lag]
            put = sum(1 for v in done.values() if t0 <= v[0] < t1)
            return objs / secs, rows / secs, lags, put / secs

        p(f"# flowtrail serve under sustained load ({'ramp' if a.ramp else 'steady'})")
        p()
        p(f"- date: {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime(t_start))}; "
          f"binary: `{binary}`")
        p("- command: `bench/sustained_load.py " + " ".join(sys.argv[1:]) + "`")
        p(f"- objects: {a.records_min}-{a.records_max} flow records each (v2 format, gzip), "
          f"{a.enis} ENIs in {len(FLOW_LOGS)} flow logs, {gen_n} distinct bodies reused under "
          f"{n_total} unique keys; {a.put_threads} PUT threads")
        p(f"- serve: SQS wait_seconds {a.wait_seconds}, max_messages_per_cycle {a.batch}, "
          f"workers {a.workers or 'default (cores)'}, detection {'off' if a.no_detect else 'on'}, "
          f"alerts to JSONL; {os.cpu_count()} cores")
        loads = [s["load"] for s in samples]
        p(f"- machine load (1-min average) during the run: min {fmt(min(loads) if loads else None)}, "
          f"max {fmt(max(loads) if loads else None)}; at the end {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
        p(f"- PUT: {n_put} objects in {t_put_end - t_start:.1f} s ({n_put / max(1e-9, t_put_end - t_start):.1f}/s), "
          f"{len(putter.failures)} failed; landed in the lake: {len(lag)}, missing after the drain: "
          f"{len(missing)}; drain after the last PUT {t_drained - t_put_end:.1f} s")
        bl_at_end = [b for t, b in backlog_series if t <= t_put_end + 0.5]
        bl_end = bl_at_end[-1] if bl_at_end else 0
        if bl_end > 0 and t_drained > t_put_end:
            landed = sum(1 for t in appeared.values() if t_put_end < t <= t_drained)
            p(f"- drain: {bl_end} objects not yet in the lake at the last PUT; {landed} landed in the "
              f"{t_drained - t_put_end:.1f} s after it ({landed / (t_drained - t_put_end):.1f} objects/s), "
              f"{len(missing)} still missing; CPU serve "
              f"{fmt(cpu_share(samples, t_put_end, t_drained, 'serve'))}, moto "
              f"{fmt(cpu_share(samples, t_put_end, t_drained, 'moto'))} cores")
        if sampler.capped:
            p(f"- **PUTs stopped early**: serve's RSS reached {sampler.capped[1]:.0f} MiB "
              f"(--max-rss-mib {a.max_rss_mib:g}) {sampler.capped[0] - t_start:.0f} s into the run")
        late = [v[0] - putter.sched[k] for k, v in done.items()]
        recs_put = sum(v[2] for v in done.values())
        rows_lake = sum(r.get("flows", 0) for _, _, r in commits)
        p(f"- PUT completion after its scheduled time: p50 {fmt(pct(late, 50), '.3f')} s, "
          f"p99 {fmt(pct(late, 99), '.3f')} s, max {fmt(max(late) if late else None, '.3f')} s")
        p(f"- flow-log lines PUT {recs_put:,}, `flows` rows in the lake {rows_lake:,}; keys in more "
          f"than one commit: {len(ledger.duplicates)}; unreadable ledger files: {ledger.errors}")
        p(f"- serve stop: SIGTERM → exit {serve_exit} in {stop_secs:.1f} s; log: {warns} warnings, "
          f"{errors} errors")
        p()

        if a.ramp:
            rows_out = []
            knee = None
            for si in sorted(step_bounds):
                t0, t1 = step_bounds[si]
                rate = steps[si][0]
                objs_s, recs_s, lags, put_s = window_figures(t0, t1)
                pts = [(t - t0, b) for t, b in backlog_series if t0 <= t <= t1]
                b0 = pts[0][1] if pts else None
                b1 = pts[-1][1] if pts else None
                bs = slope(pts)
                thirds = (t1 - t0) / 3
                first = [lag[k] for k, v in done.items() if t0 <= v[0] < t0 + thirds and k in lag]
                lastp = [lag[k] for k, v in done.items() if t1 - thirds <= v[0] < t1 and k in lag]
                p99a, p99b = pct(first, 99), pct(lastp, 99)
                unlanded = sum(1 for k, v in done.items() if t0 <= v[0] < t1 and k not in lag)
                late_s = [v[0] - putter.sched[k] for k, v in done.items() if t0 <= v[0] < t1]
                grow_bl = bs is not None and bs * (t1 - t0) > max(10.0, 2.0 * rate)
                grow_end = b0 is not None and b1 - b0 > max(10.0, 2.0 * rate)
                grow_lag = (p99a is not None and p99b is not None and p99b > 2 * p99a
                            and p99b - p99a > 1.0)
                put_behind = put_s < 0.95 * rate or (pct(late_s, 99) or 0) > 1.0
                grew = grow_bl or grow_end or grow_lag or unlanded > 0 or put_behind
                if grew and knee is None:
                    knee = rate
                why = ",".join(n for n, f in (("backlog", grow_bl or grow_end), ("p99", grow_lag),
                                              ("unlanded", unlanded > 0), ("PUTs behind", put_behind))
                               if f) or "-"
                rows_out.append([
                    f"{rate:g}", f"{put_s:.1f}", fmt(pct(late_s, 99)), f"{objs_s:.1f}", f"{recs_s:,.0f}",
                    fmt(pct(lags, 50)), fmt(pct(lags, 99)), fmt(p99a), fmt(p99b),
                    f"{b0} → {b1}", fmt(bs, ".2f"),
                    fmt(cpu_share(samples, t0, t1, "serve")), fmt(cpu_share(samples, t0, t1, "moto")),
                    fmt(cpu_share(samples, t0, t1, "bench")),
                    fmt(nearest(samples, t1)["rss"], ".0f") if samples else "-",
                    fmt(max([s["load"] for s in samples if t0 <= s["t"] <= t1] or [None]) if samples else None),
                    "yes (" + why + ")" if grew else "no",
                ])
            p("## Ramp")
            p()
            p("Per step: objects/s PUT (and how late the PUTs completed against their schedule, p99), "
              "objects/s landed in the lake (by commit time), lake rows/s, lag of "
              "the objects PUT in the step (p50/p99, and p99 of its first and last third), backlog "
              "(objects PUT, not in the ledger) at the step's start and end and its least-squares "
              "slope (objects/s), CPU in cores (serve, moto, this script), serve RSS at the end, "
              "the 1-minute load average.")
            p()
            table(["rate/s", "put/s", "PUT late p99 s", "lake obj/s", "lake rows/s", "lag p50 s", "lag p99 s",
                   "p99 1st third", "p99 last third", "backlog", "backlog slope/s",
                   "CPU serve", "CPU moto", "CPU bench", "RSS MiB", "load max", "grew"], rows_out)
            p(f"A step *grew* when the backlog rose by more than max(10, 2 × rate) objects over it "
              f"(end − start, or least-squares slope × step length), or the p99 lag of its last "
              f"third was more than twice (and 1 s above) that of its first third, or objects PUT in "
              f"it were still missing after the drain, or the PUTs themselves fell behind (below 95% "
              f"of the rate, or p99 more than 1 s late: moto, which also serves the PUTs, saturated).")
            p()
            if knee is None:
                p("No step's lag or backlog grew: the knee is above the highest rate run.")
            else:
                p(f"**Knee: {knee:g} objects/s** is the first rate where the backlog or the lag grew "
                  f"during the step.")
            p()
        else:
            t0, t1 = t_start + a.warmup, t_put_end
            objs_s, recs_s, lags, put_s = window_figures(t0, t1)
            all_lags = list(lag.values())
            req_lags = [lag_req[k] for k, v in done.items() if t0 <= v[0] < t1 and k in lag_req]
            p("## Steady state")
            p()
            p(f"Figures over the steady part: from {a.warmup:g} s after the first PUT to the last PUT "
              f"({t1 - t0:.0f} s). Lag: PUT completion → the ledger commit naming the object "
              f"(moto sends the notification inside the PUT, so a commit can precede the PUT's "
              f"response: `lag min` < 0; `from PUT start` is the bound on the other side).")
            p()
            table(["target/s", "put/s", "lake objects/s", "lake records/s", "lag p50 s", "lag p90 s",
                   "lag p99 s", "lag max s", "lag min s", "from PUT start p50 / p99 s",
                   "lag p99 (whole run) s", "CPU serve", "CPU moto", "CPU bench"],
                  [[f"{a.rate:g}", f"{put_s:.1f}", f"{objs_s:.1f}", f"{recs_s:,.0f}",
                    fmt(pct(lags, 50), ".3f"), fmt(pct(lags, 90), ".3f"), fmt(pct(lags, 99), ".3f"),
                    fmt(max(lags) if lags else None, ".3f"), fmt(min(lags) if lags else None, ".3f"),
                    f"{fmt(pct(req_lags, 50), '.3f')} / {fmt(pct(req_lags, 99), '.3f')}",
                    fmt(pct(all_lags, 99), ".3f"),
                    fmt(cpu_share(samples, t0, t1, "serve")), fmt(cpu_share(samples, t0, t1, "moto")),
                    fmt(cpu_share(samples, t0, t1, "bench"))]])
            p("### Per minute (by PUT time)")
            p()
            rows_out = []
            m = 0
            while t_start + m * 60 < t_put_end - 1:
                m0, m1 = t_start + m * 60, min(t_start + (m + 1) * 60, t_put_end)
                o, r, l, ps = window_figures(m0, m1)
                bl = [b for t, b in backlog_series if m0 <= t <= m1]
                sm = nearest(samples, m1)
                rows_out.append([m + 1, f"{ps:.1f}", f"{o:.1f}", f"{r:,.0f}", fmt(pct(l, 50), ".3f"),
                                 fmt(pct(l, 99), ".3f"), fmt(max(l) if l else None, ".3f"),
                                 f"{max(bl) if bl else '-'}", f"{bl[-1] if bl else '-'}",
                                 fmt(sm["rss"], ".0f") if sm else "-",
                                 fmt(metric(sm, "flowtrail_detection_held_bytes", 2**-20), ".0f"),
                                 fmt(metric(sm, "flowtrail_detection_spilled_rows_total", 1e-6), ".1f"),
                                 fmt(metric(sm, "flowtrail_detection_open_hours"), ".0f"),
                                 fmt(cpu_share(samples, m0, m1, "serve")),
                                 fmt(cpu_share(samples, m0, m1, "moto")),
                                 fmt(sm["load"]) if sm else "-"])
                m += 1
            table(["minute", "put/s", "lake obj/s", "lake rows/s", "lag p50 s", "lag p99 s", "lag max s",
                   "backlog max", "backlog end", "RSS MiB", "held MiB", "spilled M rows",
                   "open hours", "CPU serve", "CPU moto", "load"], rows_out)

        # Memory
        rs = [(s["t"], s["rss"]) for s in samples if s["rss"] is not None]
        if rs:
            half = [((t - t_start) / 60, r) for t, r in rs if t_start + (t_put_end - t_start) / 2 <= t <= t_put_end]
            whole = [((t - t_start) / 60, r) for t, r in rs if t_start <= t <= t_put_end]
            hwm = max((s["hwm"] or 0) for s in samples)
            p("## Memory of serve (VmRSS every %g s)" % a.sample_seconds)
            p()
            table(["start MiB", "min MiB", "max MiB", "end MiB", "VmHWM MiB",
                   "slope 2nd half MiB/min", "slope whole run MiB/min", "moto RSS end MiB"],
                  [[fmt(rs[0][1], ".0f"), fmt(min(r for _, r in rs), ".0f"), fmt(max(r for _, r in rs), ".0f"),
                    fmt(rs[-1][1], ".0f"), fmt(hwm, ".0f"), fmt(slope(half), ".2f"), fmt(slope(whole), ".2f"),
                    fmt(samples[-1]["moto_rss"], ".0f")]])
            # RSS against the rows committed so far: growth per million rows, at the sample
            # with the highest RSS.
            peak = max((x for x in samples if x["rss"] is not None), key=lambda x: x["rss"])
            rows_by = sum(r.get("flows", 0) for t, _, r in commits if t <= peak["t"])
            if rows_by > 0:
                p(f"RSS growth per million lake rows: {(peak['rss'] - rs[0][1]) / rows_by * 1e6:.0f} MiB "
                  f"((peak {peak['rss']:.0f} − start {rs[0][1]:.0f} MiB) / {rows_by:,} rows committed by "
                  f"then, {(peak['rss'] - rs[0][1]) * 2**20 / rows_by:.0f} bytes per row).")
                p()
            # RSS over time, one line per minute
            pts = []
            m = 0
            while True:
                tm = t_start + m * 60
                if tm > samples[-1]["t"]:
                    break
                s = nearest(samples, tm)
                pts.append(f"{m}:{s['rss']:.0f}" if s["rss"] is not None else f"{m}:-")
                m += 1
            p("RSS by minute (minute:MiB): " + " ".join(pts))
            p()

        # serve's own view
        h = lag_histogram(final_metrics)
        g = lambda n, l="": final_metrics.get((n, l))
        p("## serve's /metrics at the end")
        p()
        p(f"- notification lag histogram (SQS SentTimestamp → messages deleted after the commit): "
          f"count {h[1]:.0f}, mean {fmt(h[2] / h[1] if h[1] else None, '.3f')} s, "
          f"p50 ≈ {fmt(hist_quantile(0.5, *h[:2]), '.3f')} s, p99 ≈ {fmt(hist_quantile(0.99, *h[:2]), '.3f')} s "
          f"(interpolated within buckets: {', '.join(f'le {le:g}: {c:.0f}' for le, c in h[0])})")
        read, again, quar, flows = (g("flowtrail_objects_total", '{outcome="read"}'),
                                    g("flowtrail_objects_total", '{outcome="already_done"}'),
                                    g("flowtrail_objects_total", '{outcome="quarantined"}'),
                                    g("flowtrail_records_total", '{table="flows"}'))
        p(f"- objects read {fmt(read, '.0f')}, already done {fmt(again, '.0f')}, "
          f"quarantined {fmt(quar, '.0f')}; flow records {fmt(flows, '.0f')}; "
          f"commits {fmt(g('flowtrail_commits_total'), '.0f')}, cycles {fmt(g('flowtrail_cycles_total'), '.0f')}")
        sqs_m = {l: v for (n, l), v in final_metrics.items() if n == "flowtrail_sqs_messages_total"}
        err_m = {l: v for (n, l), v in final_metrics.items() if n == "flowtrail_errors_total"}
        lab = lambda l: re.sub(r'^\{\w+="|"\}$', "", l)
        p(f"- SQS messages: {', '.join(f'{lab(l)} {v:.0f}' for l, v in sorted(sqs_m.items())) or '-'}; "
          f"errors: {', '.join(f'{lab(l)} {v:.0f}' for l, v in sorted(err_m.items())) or '-'}; "
          f"alerts: {sum(v for (n, _), v in final_metrics.items() if n == 'flowtrail_alerts_total'):.0f}; "
          f"open detection hours {fmt(g('flowtrail_detection_open_hours'), '.0f')}")
        cyc = [(c[1]) for c in commits]
        p(f"- ledger: {len(commits)} commits, sources per commit p50 {fmt(pct(cyc, 50), '.0f')}, "
          f"max {max(cyc) if cyc else '-'}; lake rows: "
          + ", ".join(f"{t} {sum(r.get(t, 0) for _, _, r in commits):,}"
                      for t in sorted({t for _, _, r in commits for t in r})))
        if a.ramp and len(samples) > 1:
            per_step = []
            for si in sorted(step_bounds):
                t0, t1 = step_bounds[si]
                s0, s1 = nearest(samples, t0), nearest(samples, t1)
                d = hist_delta(lag_histogram(s1["metrics"]), lag_histogram(s0["metrics"]))
                per_step.append(f"{steps[si][0]:g}/s: p50 ≈ {fmt(hist_quantile(0.5, *d[:2]))} s, "
                                f"p99 ≈ {fmt(hist_quantile(0.99, *d[:2]))} s (n {d[1]:.0f})")
            p("- its lag by step (histogram deltas between samples): " + "; ".join(per_step))
        p()
        if warns or errors:
            p("serve log (first lines):")
            p()
            p("```")
            for e in examples:
                p(e)
            p("```")
            p()
        if putter.failures:
            p(f"PUT failures (first): {putter.failures[:3]}")
            p()
        if a.out:
            with open(a.out, "w") as f:
                f.write("\n".join(out) + "\n")
            print(f"wrote {a.out}")
        report = out
    except KeyboardInterrupt as e:
        print(f"interrupted ({e}); cleaning up", file=sys.stderr)
    finally:
        for th in (sampler, ledger):
            if th is not None:
                th.stop.set()
        if serve is not None and serve.poll() is None:
            serve.send_signal(signal.SIGTERM)
            try:
                rc = serve.wait(60)
                print(f"serve exited with {rc} after SIGTERM", file=sys.stderr)
            except subprocess.TimeoutExpired:
                serve.kill()
                serve.wait()
                print("serve did not exit within 60 s of SIGTERM: killed", file=sys.stderr)
        moto.terminate()
        try:
            moto.wait(20)
        except subprocess.TimeoutExpired:
            moto.kill()
            moto.wait()
        if a.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    if serve_exit not in (0, None) or not report:
        sys.exit(1)


if __name__ == "__main__":
    main()
