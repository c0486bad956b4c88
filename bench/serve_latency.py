#!/usr/bin/env python3
"""Notification-to-alert latency of `flowtrail serve`, against moto server on this machine.

Starts moto server and `flowtrail serve` (S3 notifications via SQS, alerts to an SNS topic
with an SQS queue subscribed), then N times: puts one CloudTrail object holding a
`StopLogging` event in hour H and a benign event 95 minutes later, so that the object itself
moves the watermark past hour H plus the 30-minute grace. The detection window of the attack
is therefore closed the moment the object is read; the time from the PUT to the alert's
arrival on the subscribed queue is the latency measured. Prints p50/p90/p99/max.

    bench/serve_latency.py [--bin target/release/flowtrail] [--samples 50]
"""

import argparse
import gzip
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

import boto3


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_http(url, limit=60):
    t = time.time()
    while time.time() - t < limit:
        try:
            urllib.request.urlopen(url, timeout=2).read()
            return
        except Exception:
            time.sleep(0.2)
    sys.exit(f"{url} did not answer")


ACCT = "012345678901"


def event(eid, name, source, t):
    return {
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCT}:user/mallory",
                         "accountId": ACCT, "userName": "mallory"},
        "eventTime": t, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2",
        "requestParameters": {"name": "main-trail"}, "responseElements": None,
        "eventID": eid, "readOnly": False, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": ACCT,
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=None)
    ap.add_argument("--samples", type=int, default=50)
    a = ap.parse_args()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(root, "target"))
    binary = a.bin or next(
        (p for p in (os.path.join(target, "release/flowtrail"), os.path.join(target, "debug/flowtrail"))
         if os.path.exists(p)), None)
    if not binary:
        sys.exit("no flowtrail binary: cargo build --release")
    work = tempfile.mkdtemp(prefix="flowtrail-latency-")
    mport, sport = free_port(), free_port()
    endpoint = f"http://127.0.0.1:{mport}"
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(mport)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    serve = None
    try:
        wait_http(endpoint + "/moto-api/")
        kw = dict(endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id="testing", aws_secret_access_key="testing")
        s3, sqs, sns = boto3.client("s3", **kw), boto3.client("sqs", **kw), boto3.client("sns", **kw)
        s3.create_bucket(Bucket="logs")
        q = sqs.create_queue(QueueName="events")["QueueUrl"]
        qarn = sqs.get_queue_attributes(QueueUrl=q, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        s3.put_bucket_notification_configuration(Bucket="logs", NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": qarn, "Events": ["s3:ObjectCreated:*"]}]})
        topic = sns.create_topic(Name="alerts")["TopicArn"]
        aq = sqs.create_queue(QueueName="alerts-q")["QueueUrl"]
        aarn = sqs.get_queue_attributes(QueueUrl=aq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=aarn,
                      Attributes={"RawMessageDelivery": "true"})
        env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                   AWS_REGION="us-east-1", AWS_ENDPOINT_URL=endpoint, AWS_EC2_METADATA_DISABLED="true")
        log = open(os.path.join(work, "serve.log"), "w")
        serve = subprocess.Popen([binary, "serve", "--sqs-queue-url", q, "--lake", "lake",
                                  "--state", "state", "--outbox", "outbox", "--sns-topic-arn", topic,
                                  "--listen", f"127.0.0.1:{sport}"],
                                 cwd=work, env=env, stdout=subprocess.DEVNULL, stderr=log)
        wait_http(f"http://127.0.0.1:{sport}/healthz")
        base = 1767780000  # 2026-01-07T10:00:00Z
        lat = []
        for i in range(a.samples):
            h = base + 2 * 3600 * i
            t_attack = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(h + 300))
            t_later = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(h + 95 * 60))
            doc = {"Records": [
                event(f"stop-{i}", "StopLogging", "cloudtrail.amazonaws.com", t_attack),
                event(f"later-{i}", "DescribeInstances", "ec2.amazonaws.com", t_later)]}
            stamp = time.strftime("%Y%m%dT%H%MZ", time.gmtime(h + 95 * 60))
            day = time.strftime("%Y/%m/%d", time.gmtime(h + 95 * 60))
            key = f"AWSLogs/{ACCT}/CloudTrail/us-east-1/{day}/{ACCT}_CloudTrail_us-east-1_{stamp}_{i:016x}.json.gz"
            t0 = time.monotonic()
            s3.put_object(Bucket="logs", Key=key, Body=gzip.compress(json.dumps(doc).encode()))
            got = None
            while got is None:
                r = sqs.receive_message(QueueUrl=aq, MaxNumberOfMessages=10, WaitTimeSeconds=1)
                for m in r.get("Messages", []):
                    sqs.delete_message(QueueUrl=aq, ReceiptHandle=m["ReceiptHandle"])
                    if json.loads(m["Body"])["evidence"].get("event_ids") == [f"stop-{i}"]:
                        got = time.monotonic() - t0
                if time.monotonic() - t0 > 60:
                    sys.exit(f"sample {i}: no alert within 60 s; see {work}/serve.log")
            lat.append(got)
        lat.sort()
        pct = lambda p: lat[min(len(lat) - 1, int(round(p / 100 * len(lat))) - 1)]
        print(f"binary {binary}")
        print(f"samples {len(lat)}: p50 {pct(50):.3f} s, p90 {pct(90):.3f} s, p99 {pct(99):.3f} s, "
              f"max {lat[-1]:.3f} s, mean {statistics.mean(lat):.3f} s")
    finally:
        if serve:
            serve.terminate()
            serve.wait(30)
        moto.terminate()
        moto.wait()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
