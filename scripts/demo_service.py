#!/usr/bin/env python3
"""The `flowtrail serve` demo against moto server (no AWS account), with boto3.

    scripts/demo_service.py setup              # bucket -> queue notifications, SNS topic
    scripts/demo_service.py upload sample-data/aws --wait http://127.0.0.1:9100/metrics
    scripts/demo_service.py alerts             # what reached the SNS topic

`setup` creates the bucket `logs` whose ObjectCreated events go to the queue `log-objects`,
and the SNS topic `alerts` with a queue `alerts-inbox` subscribed to it (so the demo can show
what SNS received); it prints the `flowtrail serve` command to run next. `upload` puts every
file under a folder in the AWS S3 layout into the bucket, oldest delivery first (as S3 would
receive them), keys relative to the folder; `--wait` then follows the service's /metrics
until it has handled a notification for each object. `alerts` prints the alerts SNS got.

Endpoint and credentials: `--endpoint` (default $AWS_ENDPOINT_URL, else
http://127.0.0.1:5000), the usual AWS_* variables (moto accepts any, `testing` by default),
region us-east-1. Everything is idempotent: re-running `setup` is harmless.
"""

import argparse
import json
import os
import re
import sys
import time
import urllib.request

import boto3
from botocore.config import Config

REGION = "us-east-1"
STAMP = re.compile(r"_(\d{8}T\d{4}Z)[_.]")


def client(service, endpoint):
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id=os.environ.get("AWS_ACCESS_KEY_ID", "testing"),
        aws_secret_access_key=os.environ.get("AWS_SECRET_ACCESS_KEY", "testing"),
        config=Config(retries={"max_attempts": 3, "mode": "standard"}),
    )


def queue(sqs, name):
    """Create the queue (or find it); return (url, arn)."""
    url = sqs.create_queue(QueueName=name, Attributes={"VisibilityTimeout": "120"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def setup(args):
    s3, sqs, sns = (client(s, args.endpoint) for s in ("s3", "sqs", "sns"))
    existing = {b["Name"] for b in s3.list_buckets().get("Buckets", [])}
    if args.bucket not in existing:
        s3.create_bucket(Bucket=args.bucket)
    queue_url, queue_arn = queue(sqs, args.queue)
    s3.put_bucket_notification_configuration(
        Bucket=args.bucket,
        NotificationConfiguration={
            "QueueConfigurations": [{"QueueArn": queue_arn, "Events": ["s3:ObjectCreated:*"]}]
        },
    )
    topic_arn = sns.create_topic(Name=args.topic)["TopicArn"]
    _, inbox_arn = queue(sqs, args.topic + "-inbox")
    sns.subscribe(
        TopicArn=topic_arn,
        Protocol="sqs",
        Endpoint=inbox_arn,
        Attributes={"RawMessageDelivery": "true"},
    )
    print(f"bucket  s3://{args.bucket}/ -> ObjectCreated -> {queue_url}")
    print(f"topic   {topic_arn} -> {args.topic}-inbox")
    print("next, in another shell (with the same AWS_* variables):")
    print(
        f"  flowtrail serve --sqs-queue-url {queue_url} --sns-topic-arn {topic_arn} \\\n"
        "    --lake demo/lake --state demo/state --alerts-out demo/alerts.jsonl --listen 127.0.0.1:9100"
    )


def delivery_order(item):
    """Oldest delivery first: the time stamp in the object's name, then the key."""
    key = item[0]
    m = STAMP.search(key.rsplit("/", 1)[-1])
    return (m.group(1) if m else "", key)


def files_under(root):
    out = []
    for d, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = sorted(x for x in dirs if not x.startswith((".", "_")))
        for n in names:
            if n.startswith((".", "_")):
                continue
            path = os.path.join(d, n)
            out.append((os.path.relpath(path, root).replace(os.sep, "/"), path))
    return sorted(out, key=delivery_order)


def metric_sum(text, name):
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            total += float(line.rsplit(" ", 1)[1])
    return total


def handled(metrics_url):
    """Notifications the service has handled (deleted or ignored), from its /metrics."""
    with urllib.request.urlopen(metrics_url, timeout=10) as r:
        return metric_sum(r.read().decode(), "flowtrail_sqs_messages_total")


def wait_up(metrics_url, timeout):
    """Until the service answers (it may still be building or starting)."""
    deadline = time.time() + timeout
    while True:
        try:
            return handled(metrics_url)
        except OSError as e:
            if time.time() > deadline:
                sys.exit(f"flowtrail serve does not answer at {metrics_url}: {e}")
            print(f"  waiting for flowtrail serve at {metrics_url}", file=sys.stderr)
            time.sleep(5)


def wait_for(metrics_url, start, n, timeout):
    """Until the service has handled `n` more notifications than `start`."""
    deadline, last = time.time() + timeout, -1
    while time.time() < deadline:
        done = handled(metrics_url) - start
        if done != last:
            print(f"  {int(done)}/{n} notifications handled", file=sys.stderr)
            last = done
        if done >= n:
            return True
        time.sleep(2)
    return False


def upload(args):
    s3 = client("s3", args.endpoint)
    files = files_under(args.folder)
    if not files:
        sys.exit(f"no files under {args.folder}")
    # Counted before the first PUT: the service handles notifications while the upload runs.
    start = wait_up(args.wait, args.timeout) if args.wait else 0
    for i, (key, path) in enumerate(files, 1):
        with open(path, "rb") as f:
            s3.put_object(Bucket=args.bucket, Key=key, Body=f.read())
        if i % 500 == 0:
            print(f"  {i}/{len(files)} uploaded", file=sys.stderr)
    print(f"uploaded {len(files)} objects to s3://{args.bucket}/")
    if args.wait and not wait_for(args.wait, start, len(files), args.timeout):
        sys.exit(f"the service did not handle {len(files)} notifications within {args.timeout} s")


def alerts(args):
    sqs = client("sqs", args.endpoint)
    url, _ = queue(sqs, args.topic + "-inbox")
    seen = 0
    while True:
        msgs = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", [])
        if not msgs:
            break
        for m in msgs:
            a = json.loads(m["Body"])
            print(f"{a['severity']:8} {a['detector']:24} {a['entity']['id']:22} {a['title']}")
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
            seen += 1
    print(f"{seen} alerts from SNS", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:5000"))
    p.add_argument("--bucket", default="logs")
    p.add_argument("--queue", default="log-objects")
    p.add_argument("--topic", default="alerts")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("setup", help="bucket, notification queue, SNS topic")
    up = sub.add_parser("upload", help="upload a folder in the AWS S3 layout")
    up.add_argument("folder")
    up.add_argument("--wait", metavar="METRICS_URL", help="follow flowtrail's /metrics until done")
    up.add_argument("--timeout", type=float, default=900)
    sub.add_parser("alerts", help="print the alerts that reached the SNS topic")
    args = p.parse_args()
    {"setup": setup, "upload": upload, "alerts": alerts}[args.command](args)


if __name__ == "__main__":
    main()
