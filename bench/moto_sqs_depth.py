#!/usr/bin/env python3
"""How moto server's SQS calls scale with the depth of the queue (the limit that
bench/sustained_load.py runs into past its knee).

For each starting depth, five rounds of what `flowtrail serve` and S3 notifications do per
cycle: 10 ReceiveMessage calls of 10 messages, ChangeMessageVisibilityBatch and
DeleteMessageBatch over the 100, and 100 new messages sent (as S3 sends its notifications).
Prints the time per message of each kind of call.

    bench/moto_sqs_depth.py [--depths 0,1000,4000]
"""

import argparse
import socket
import subprocess
import time
import urllib.request

import boto3


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--depths", default="0,1000,4000")
    a = ap.parse_args()
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    moto = subprocess.Popen(["moto_server", "-H", "127.0.0.1", "-p", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name="us-east-1",
                           aws_access_key_id="testing", aws_secret_access_key="testing")
        body = "x" * 900  # about the size of an S3 ObjectCreated notification
        for depth in (int(d) for d in a.depths.split(",")):
            q = sqs.create_queue(QueueName=f"depth-{depth}")["QueueUrl"]
            for _ in range(0, depth, 10):
                sqs.send_message_batch(QueueUrl=q, Entries=[
                    {"Id": str(j), "MessageBody": body} for j in range(10)])
            t_recv = t_vis = t_del = t_send = 0.0
            rounds = 5
            for _ in range(rounds):
                got = []
                t = time.time()
                for _ in range(10):
                    got += sqs.receive_message(QueueUrl=q, MaxNumberOfMessages=10, VisibilityTimeout=120,
                                               WaitTimeSeconds=0).get("Messages", [])
                t_recv += time.time() - t
                t = time.time()
                for i in range(0, len(got), 10):
                    sqs.change_message_visibility_batch(QueueUrl=q, Entries=[
                        {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 120}
                        for j, m in enumerate(got[i:i + 10])])
                t_vis += time.time() - t
                t = time.time()
                for i in range(0, len(got), 10):
                    sqs.delete_message_batch(QueueUrl=q, Entries=[
                        {"Id": str(j), "ReceiptHandle": m["ReceiptHandle"]}
                        for j, m in enumerate(got[i:i + 10])])
                t_del += time.time() - t
                t = time.time()
                for _ in range(10):
                    sqs.send_message_batch(QueueUrl=q, Entries=[
                        {"Id": str(j), "MessageBody": body} for j in range(10)])
                t_send += time.time() - t
            n = rounds * 100
            print(f"depth {depth:6}: per message: receive {t_recv / n * 1000:.2f} ms, "
                  f"extend visibility {t_vis / n * 1000:.2f} ms, delete {t_del / n * 1000:.2f} ms, "
                  f"send {t_send / n * 1000:.2f} ms", flush=True)
    finally:
        moto.terminate()
        moto.wait()


if __name__ == "__main__":
    main()
