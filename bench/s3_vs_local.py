#!/usr/bin/env python3
"""Replay throughput from S3 (moto server on this machine) against the same files in a local
folder, with the release binary.

    bench/s3_vs_local.py DIR [--bin PATH] [--runs 3] [--detect] [--merge N]

DIR is a folder in the AWS layout (e.g. one made by `flowtrail-gen bench`). Its objects are
uploaded to a moto bucket once; then each run replays the local folder and the bucket into
fresh lakes and prints records/s of both and their ratio (best of --runs).

`flowtrail-gen bench` writes ~500 records per flow-log object. Real flow-log objects are
usually larger (a flow log delivers one object per interval per ENI group, up to 75 MB), and
the cost of a GET is per object: `--merge N` first writes a copy of DIR in which each run of N
consecutive objects of one flow log (same folder, same flow-log id) becomes one object (one
header, the records of all N), and each run of N CloudTrail objects of one account and region
one document, so the comparison can be made at realistic object sizes.
"""

import argparse
import gzip
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import boto3


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def merge_set(src, dst, n):
    """Copy src to dst, merging each run of n flow-log objects of one flow log (and of n
    CloudTrail objects of one account and region) into one."""
    groups = {}
    for d, _, names in os.walk(src):
        for name in sorted(names):
            p = os.path.join(d, name)
            rel = os.path.relpath(p, src)
            if "_vpcflowlogs_" in name and name.endswith(".log.gz"):
                # <acct>_vpcflowlogs_<region>_<flow log id>_<time>_<hash>.log.gz
                fl = name.split("_")[3]
                groups.setdefault((d, fl), []).append(rel)
            elif "_CloudTrail_" in name and name.endswith(".json.gz"):
                groups.setdefault((d, "cloudtrail"), []).append(rel)
            else:
                os.makedirs(os.path.dirname(os.path.join(dst, rel)), exist_ok=True)
                shutil.copyfile(p, os.path.join(dst, rel))
    objects = 0
    for rels in groups.values():
        rels.sort()
        for i in range(0, len(rels), n):
            part = rels[i:i + n]
            out = os.path.join(dst, part[0])
            os.makedirs(os.path.dirname(out), exist_ok=True)
            if part[0].endswith(".json.gz"):
                # CloudTrail: one document with every object's Records.
                records = []
                for rel in part:
                    with gzip.open(os.path.join(src, rel), "rb") as f:
                        records.extend(json.load(f).get("Records", []))
                with gzip.open(out, "wt", compresslevel=6) as f:
                    json.dump({"Records": records}, f)
                objects += 1
                continue
            lines = []
            for j, rel in enumerate(part):
                with gzip.open(os.path.join(src, rel), "rb") as f:
                    body = f.read().splitlines(keepends=True)
                lines.extend(body if j == 0 else body[1:])
            with gzip.open(out, "wb", compresslevel=6) as f:
                f.writelines(lines)
            objects += 1
    return objects


def records_per_s(stderr):
    m = re.search(r"time\s+([\d.]+)s, (\d+) records/s", stderr)
    if not m:
        sys.exit("no summary in:\n" + stderr)
    return float(m.group(1)), int(m.group(2))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--bin", default=None)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--detect", action="store_true")
    ap.add_argument("--extra", default="", help="more replay flags, e.g. '--workers 16'")
    ap.add_argument("--merge", type=int, default=1,
                    help="merge each run of N flow-log objects of one flow log into one")
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    binary = a.bin or os.path.join(target, "release/flowtrail")
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    work = tempfile.mkdtemp(prefix="flowtrail-s3bench-")
    try:
        if a.merge > 1:
            merged = os.path.join(work, "merged")
            n = merge_set(a.dir, merged, a.merge)
            print(f"merged objects {a.merge} to 1: {n} objects")
            a.dir = merged
        for _ in range(300):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                          aws_access_key_id="testing", aws_secret_access_key="testing")
        s3.create_bucket(Bucket="archive")
        files = []
        for d, _, names in os.walk(a.dir):
            for n in names:
                p = os.path.join(d, n)
                files.append((p, os.path.relpath(p, a.dir)))
        t = time.time()
        with ThreadPoolExecutor(8) as ex:
            list(ex.map(lambda f: s3.upload_file(f[0], "archive", f[1]), files))
        print(f"uploaded {len(files)} objects in {time.time() - t:.1f} s")
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
        extra = [] if a.detect else ["--no-detect"]
        best = {}
        for i in range(a.runs):
            for name, src in (("local", a.dir), ("s3", "s3://archive/")):
                out = os.path.join(work, f"{name}{i}")
                r = subprocess.run([binary, "replay", src, "--quiet"] + a.extra.split() + ["--lake", out + "/lake",
                                    "--state", out + "/state", "--alerts-out", out + "/a.jsonl"] + extra,
                                   env=env, capture_output=True, text=True)
                if r.returncode != 0:
                    sys.exit(r.stderr)
                secs, rps = records_per_s(r.stderr)
                print(f"run {i} {name:5}: {secs:.2f} s, {rps} records/s")
                best[name] = max(best.get(name, 0), rps)
                shutil.rmtree(out, ignore_errors=True)
        print(f"best: local {best['local']} records/s, s3 {best['s3']} records/s, "
              f"s3/local = {100.0 * best['s3'] / best['local']:.0f}%")
    finally:
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
