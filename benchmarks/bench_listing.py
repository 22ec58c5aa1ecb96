"""A merged listing over two backends against listing each backend directly.

Method
------
Two local S3 servers (one moto process each, ``botwo.testing.LocalS3Server``) hold one
caller bucket split by a ``prefix`` rule: half the keys (``part-a/...`` and, after the
split point, ``part-c/...``) on server A, the other half (``part-b/...``) on server B.
botwo lists the caller's whole bucket with the ``list_objects_v2`` paginator (1,000
keys a page); the baseline lists A's bucket and then B's bucket directly, one after the
other, with the same paginator and page size over plain boto3 clients. Both sides see
every key once and parse the same number of 1,000-key pages.

The two runs alternate (baseline, botwo, botwo, baseline, ...) for ``--rounds`` rounds;
the figures are the medians, and the ratio botwo / baseline of the medians (target:
at most 1.0). The keys are written once, concurrently, before timing.

Run ``python benchmarks/bench_listing.py`` (or ``nox -s bench_listing``); ``--keys``
sets the number of keys (default 100,000), ``--quick`` is ``--keys 10000 --rounds 3``.
Results go to ``benchmarks/results/listing.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import boto3
import botocore
from botocore.config import Config

import botwo
from botwo.testing import LocalS3Server

BUCKET = "bench"


def _fill(client: Any, bucket: str, keys: list[str]) -> None:
    client.create_bucket(Bucket=bucket)
    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: client.put_object(Bucket=bucket, Key=k, Body=b""), keys))


def _count(pages: Any) -> int:
    return sum(len(page.get("Contents", ())) for page in pages)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.keys, args.rounds = 10_000, 3
    third = args.keys // 4
    keys_a = [f"part-a/{i:07d}.csv" for i in range(third)] + [
        f"part-c/{i:07d}.csv" for i in range(args.keys // 2 - third)
    ]
    keys_b = [f"part-b/{i:07d}.csv" for i in range(args.keys - len(keys_a))]
    config = Config(s3={"addressing_style": "path"}, max_pool_connections=32)
    with LocalS3Server("a") as server_a, LocalS3Server("b") as server_b:
        a, b = server_a.client(config=config), server_b.client(config=config)
        started = time.perf_counter()
        _fill(a, BUCKET, keys_a)
        _fill(b, BUCKET, keys_b)
        print(f"wrote {args.keys} keys in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        s3 = botwo.client(
            {"a": a, "b": b},
            [
                {"bucket_name": BUCKET, "prefix": "part-b/", "client": "b"},
                {"bucket_name": "*", "client": "a"},
            ],
        )

        def direct() -> int:
            return sum(_count(c.get_paginator("list_objects_v2").paginate(Bucket=BUCKET)) for c in (a, b))

        def merged() -> int:
            return _count(s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET))

        assert direct() == merged() == args.keys  # warm-up, and both see every key
        times: dict[str, list[float]] = {"direct": [], "botwo": []}
        for i in range(args.rounds):
            order = [("direct", direct), ("botwo", merged)]
            for name, run in order if i % 2 == 0 else reversed(order):
                t0 = time.perf_counter()
                run()
                times[name].append(time.perf_counter() - t0)
    base, ours = statistics.median(times["direct"]), statistics.median(times["botwo"])
    result = {
        "keys": args.keys,
        "rounds": args.rounds,
        "direct_s": base,
        "botwo_s": ours,
        "ratio": ours / base,
        "runs": times,
        "python": platform.python_version(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
    }
    print("| listing | keys | direct, one backend after the other | botwo merged | ratio |")
    print("|---|---:|---:|---:|---:|")
    print(f"| list_objects_v2 paginator | {args.keys:,} | {base:.2f} s | {ours:.2f} s | {ours / base:.3f} |")
    out = Path(__file__).parent / "results" / "listing.json"
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
