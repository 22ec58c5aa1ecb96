"""What botwo adds to a boto3 S3 call: per-call overhead, and the time to build a client.

Method
------
Two boto3 S3 clients (``"s3"`` and ``"lakefs"``) point at ``http://127.0.0.1:9``, which is
never contacted: a ``before-send`` handler on each returns a canned
``botocore.awsrequest.AWSResponse`` (status 200, realistic S3 headers and XML body). So
for every call botocore still validates the parameters, serializes, signs, runs its
handlers and parses the response; only the socket is gone. What remains is the cost of
the client library itself, which is what botwo adds to.

For each table size (2, 1,000 and 10,000 rules) a realistic table is built: literal
buckets renamed onto lakeFS repositories with ``key_prefix="main/"``, plain literal
buckets, ``prefix`` rules (some with ``strip_prefix``) on a shared bucket and on the
routed bucket itself, a few globs (``tenant-*-logs``...), the routed rule in the middle,
and the catch-all last. (The smallest table is the routed rule plus the catch-all: a
one-rule table can only be the catch-all, and botwo refuses to rename a glob's bucket.)
Every timed botwo call goes through the routed rule, which renames the bucket
(``example-old-bucket`` -> ``example-repo``) and prepends ``main/`` to keys, so the
request and response translation really runs. The baseline calls the same underlying
boto3 client directly with the target names and gets the same canned responses.

Operations: ``head_object``, ``get_object`` (the 1 KiB body is read inside the timed
call), ``put_object`` (1 KiB body) and one ``list_objects_v2`` page of 1,000 keys (every
key is ``main/dir/file-NNNNN.csv`` on the target, so botwo renames all 1,000 back).

Baseline and botwo run in alternating blocks of calls in one process (baseline block,
botwo block, botwo block, baseline block, ...), after a warm-up that fills the caches.
A block is one call by default (3,000 pairs for head/get/put, 200 for the list page), so
the two sides of a pair run a millisecond apart and a load swing on a shared machine
hits both alike. Each block gives one per-call time (``perf_counter_ns`` over the block
/ calls); the figures are the medians over all blocks. The garbage collector stays on:
the extra objects botwo allocates, and the collections they trigger, are part of its
cost. botwo's own code runs here as it does in real use, right after a botocore call has
pushed its data and code out of the CPU caches: it costs about three times what a tight
loop over botwo alone (a fake backend) would suggest, and that in-situ cost is the one
reported.

Reading the figures
-------------------
``added`` is botwo's median minus the baseline's median, in microseconds per call;
``ratio`` is botwo / baseline. On a shared, noisy machine the absolute times move from
run to run, the ratio much less. A few tenths of a microsecond either way is noise.
Targets: at most 5 us added per head/get/put call, and a list page at most 3% slower
(ratio <= 1.03); both are required at 10,000 rules and shown for every size.

Instruction counts
------------------
Wall-clock medians on a shared machine move by a microsecond or two between runs, which
is close to what is measured. ``--instructions`` adds a figure that does not move: the
instructions botwo adds per call, counted by valgrind's callgrind (which counts
instructions, not time, whatever else the machine does). For each operation at 10,000
rules and each side, the process runs ``COUNT_BASE`` calls and then, in a second process,
``COUNT_BASE + COUNT_CALLS``; the difference over ``COUNT_CALLS`` is the cost of one call
with start-up, imports and client building cancelled out. Hash randomisation is fixed
and the garbage collector is off in these processes, so two runs agree to a few tens of
instructions. ``botwo_minus_forward`` subtracts a minimal forwarding wrapper (copy the
parameters, rename bucket and key, call the client): what botwo's routing and
translation cost beyond forwarding at all. These in-situ differences still move by a
thousand or two between runs (botocore's own work varies with the clock and the memory
layout), so ``botwo_own`` counts botwo's code alone, exactly: the same calls with every
backend operation replaced by a function that returns a canned dict at once, botwo
through it minus the bare function called with the target names.

Run ``python benchmarks/bench_overhead.py`` (or ``nox -s bench``); ``--quick`` runs
fewer repetitions, for a smoke test; ``--instructions`` adds the instruction counts
(needs ``valgrind``; a few minutes). The table is printed as markdown and written to
``benchmarks/results/overhead.json``.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import gc
import hashlib
import io
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
import warnings
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import boto3
import botocore
from botocore.awsrequest import AWSResponse

import botwo

RESULTS = Path(__file__).resolve().parent / "results" / "overhead.json"

ENDPOINT = "http://127.0.0.1:9"  # the discard port: never contacted
RULE_COUNTS = (2, 1_000, 10_000)
BUILD_RULE_COUNTS = (1_000, 10_000)

CALLER_BUCKET = "example-old-bucket"
TARGET_BUCKET = "example-repo"
KEY_PREFIX = "main/"
CALLER_KEY = "dir/file-00042.csv"
TARGET_KEY = KEY_PREFIX + CALLER_KEY
LIST_PREFIX = "dir/"
LIST_KEYS = 1_000

ADDED_TARGET_US = 5.0
LIST_RATIO_TARGET = 1.03

# -- canned responses ------------------------------------------------------------------

_DATE = "Tue, 14 May 2024 09:30:00 GMT"
_LAST_MODIFIED = "Mon, 13 May 2024 17:02:11 GMT"
_COMMON_HEADERS = {
    "x-amz-id-2": "5xzp0dHCpWjW7hCmZ1MH0F6zVLjGkFSgWvLDYuGHr3Ik5HPMlFSa0q+hOh3eg7VKjvuBp9ZcXQo=",
    "x-amz-request-id": "7G7KQ0WCBSXH4RPM",
    "Date": _DATE,
    "Server": "AmazonS3",
}
OBJECT_BODY = b"".join(b"%05d,2024-05-13T17:02:11Z,sensor-%03d,%.3f\n" % (i, i % 7, i / 3) for i in range(32))
OBJECT_BODY = (OBJECT_BODY * 8)[:1024]
PUT_BODY = bytes(range(256)) * 4


def _crc32_b64(data: bytes) -> str:
    return base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


_ETAG = '"' + hashlib.md5(OBJECT_BODY).hexdigest() + '"'
_OBJECT_HEADERS = {
    **_COMMON_HEADERS,
    "Last-Modified": _LAST_MODIFIED,
    "ETag": _ETAG,
    "x-amz-checksum-crc32": _crc32_b64(OBJECT_BODY),
    "x-amz-checksum-type": "FULL_OBJECT",
    "x-amz-server-side-encryption": "AES256",
    "Accept-Ranges": "bytes",
    "Content-Type": "text/csv",
    "Content-Length": str(len(OBJECT_BODY)),
}
_PUT_HEADERS = {
    **_COMMON_HEADERS,
    "ETag": '"' + hashlib.md5(PUT_BODY).hexdigest() + '"',
    "x-amz-checksum-crc32": _crc32_b64(PUT_BODY),
    "x-amz-checksum-type": "FULL_OBJECT",
    "x-amz-server-side-encryption": "AES256",
    "Content-Length": "0",
}


def _list_page_xml() -> bytes:
    entries = "".join(
        "<Contents>"
        f"<Key>{KEY_PREFIX}{LIST_PREFIX}file-{i:05d}.csv</Key>"
        f"<LastModified>2024-05-13T17:{i // 60 % 60:02d}:{i % 60:02d}.000Z</LastModified>"
        f"<ETag>&quot;{hashlib.md5(str(i).encode()).hexdigest()}&quot;</ETag>"
        "<ChecksumAlgorithm>CRC32</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>"
        f"<Size>{1000 + i * 37}</Size><StorageClass>STANDARD</StorageClass>"
        "</Contents>"
        for i in range(LIST_KEYS)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        f"<Name>{TARGET_BUCKET}</Name><Prefix>{KEY_PREFIX}{LIST_PREFIX}</Prefix>"
        "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=</NextContinuationToken>"
        f"<KeyCount>{LIST_KEYS}</KeyCount><MaxKeys>1000</MaxKeys>"
        "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
        f"{entries}</ListBucketResult>"
    ).encode()


LIST_BODY = _list_page_xml()
_LIST_HEADERS = {
    **_COMMON_HEADERS,
    "Content-Type": "application/xml",
    "Content-Length": str(len(LIST_BODY)),
}


class CannedRaw:
    """What botocore reads from ``AWSResponse.raw``: the parts of urllib3's response it uses."""

    def __init__(self, data: bytes) -> None:
        self._buffer = io.BytesIO(data)

    def stream(self, chunk_size: int = 2**16, decode_content: bool | None = None) -> Iterator[bytes]:
        while chunk := self._buffer.read(chunk_size):
            yield chunk

    def read(self, amt: int | None = None) -> bytes:
        return self._buffer.read(amt)

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self._buffer.close()


def _canned(headers: dict[str, str], body: bytes) -> Callable[..., AWSResponse]:
    def before_send(request: Any, **_: Any) -> AWSResponse:
        return AWSResponse(request.url, 200, headers, CannedRaw(body))

    return before_send


CANNED: dict[str, Callable[..., AWSResponse]] = {
    "HeadObject": _canned(_OBJECT_HEADERS, b""),
    "GetObject": _canned(_OBJECT_HEADERS, OBJECT_BODY),
    "PutObject": _canned(_PUT_HEADERS, b""),
    "ListObjectsV2": _canned(_LIST_HEADERS, LIST_BODY),
}


def offline_client() -> Any:
    """A boto3 S3 client whose requests never leave the process."""
    client = boto3.client(
        "s3",
        region_name="us-east-1",
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        endpoint_url=ENDPOINT,
    )
    for operation, handler in CANNED.items():
        client.meta.events.register(f"before-send.s3.{operation}", handler)
    return client


# -- rule tables -----------------------------------------------------------------------

ROUTED_RULE: dict[str, Any] = {
    "bucket_name": CALLER_BUCKET,
    "mapped_bucket_name": TARGET_BUCKET,
    "client": "lakefs",
    "key_prefix": KEY_PREFIX,
}
CATCH_ALL: dict[str, Any] = {"bucket_name": "*", "client": "s3"}
GLOBS = ("tenant-*-logs", "archive-20??-*", "scratch-[abc]*", "ml-*-checkpoints", "ci-cache-*")


def _filler_rule(i: int) -> dict[str, Any]:
    """The ``i``-th rule that is not the routed one: a mix of what real tables hold."""
    kind = i % 10
    if kind < 5:  # a legacy bucket moved onto a lakeFS repository's main branch
        return {"bucket_name": f"legacy-data-{i:05d}", "mapped_bucket_name": f"repo-{i:05d}",
                "client": "lakefs", "key_prefix": "main/"}
    if kind < 7:  # a bucket that stays where it is
        return {"bucket_name": f"team-bucket-{i:05d}", "client": "s3"}
    if kind < 9:  # one team's prefix of a shared bucket, served from its own repository
        return {"bucket_name": "shared-datasets", "prefix": f"team-{i:05d}/", "client": "lakefs",
                "mapped_bucket_name": f"team-repo-{i:05d}", "key_prefix": "main/", "strip_prefix": True}
    # a staging bucket moved onto a lakeFS repository's dev branch
    return {"bucket_name": f"staging-{i:05d}", "mapped_bucket_name": f"staging-repo-{i:05d}",
            "client": "lakefs", "key_prefix": "dev/"}


def build_mapping(n_rules: int) -> list[dict[str, Any]]:
    """``n_rules`` rules (at least 2): fillers, the routed rule in the middle, the catch-all."""
    if n_rules < 2:
        raise ValueError("a routed rule and the catch-all need at least 2 rules")
    fillers = n_rules - 2
    rules: list[dict[str, Any]] = []
    if fillers >= len(GLOBS) + 2:
        rules.extend({"bucket_name": glob, "client": "s3"} for glob in GLOBS)
        # Other prefixes of the routed bucket, before its own rule: its keys are routed
        # by prefix, not by the single-rule shortcut.
        rules.append({"bucket_name": CALLER_BUCKET, "prefix": "raw/", "client": "s3"})
        rules.append({"bucket_name": CALLER_BUCKET, "prefix": "exports/2024/", "client": "lakefs",
                      "mapped_bucket_name": "exports-repo", "key_prefix": "main/", "strip_prefix": True})
    i = 0
    while len(rules) < fillers:
        rules.append(_filler_rule(i))
        i += 1
    middle = len(rules) // 2 if fillers < len(GLOBS) + 2 else max(len(GLOBS) + 2, len(rules) // 2)
    rules.insert(middle, dict(ROUTED_RULE))
    rules.append(dict(CATCH_ALL))
    assert len(rules) == n_rules
    return rules


def make_botwo(clients: dict[str, Any], mapping: list[dict[str, Any]]) -> botwo.RoutingClient:
    with warnings.catch_warnings():
        # A shadowed or overlapping rule would mean an unrealistic table.
        warnings.simplefilter("error")
        return botwo.client(clients, mapping)


# -- timing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    pairs: int  # alternating baseline/botwo block pairs per operation and size
    block: int  # calls per block (head/get/put)
    list_pairs: int
    list_block: int
    warmup: int
    build_reps: int


# One-call blocks: a pair of blocks is a millisecond apart, so load swings on a shared
# machine hit both sides alike (blocks of 20 calls moved the added time by +-40 us).
FULL = Settings(pairs=3000, block=1, list_pairs=200, list_block=1, warmup=200, build_reps=5)
QUICK = Settings(pairs=200, block=1, list_pairs=8, list_block=1, warmup=20, build_reps=1)


@dataclass(frozen=True)
class Row:
    operation: str
    rules: int
    baseline_us: float
    botwo_us: float
    added_us: float
    ratio: float
    target: str
    met: bool
    blocks: int
    calls_per_block: int


def _block_ns(call: Callable[[], object], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - start) / n


def interleaved(
    baseline: Callable[[], object], routed: Callable[[], object], pairs: int, block: int, warmup: int
) -> tuple[list[float], list[float]]:
    """Per-call ns of each block, baseline and botwo in alternating (ABBA) order."""
    for _ in range(warmup):
        baseline()
        routed()
    base: list[float] = []
    ours: list[float] = []
    for i in range(pairs):
        if i % 2 == 0:
            base.append(_block_ns(baseline, block))
            ours.append(_block_ns(routed, block))
        else:
            ours.append(_block_ns(routed, block))
            base.append(_block_ns(baseline, block))
    return base, ours


def _row(operation: str, rules: int, base: list[float], ours: list[float], block: int) -> Row:
    b = statistics.median(base) / 1000
    o = statistics.median(ours) / 1000
    if operation == "list_objects_v2":
        target, met = f"ratio <= {LIST_RATIO_TARGET:.2f}", o / b <= LIST_RATIO_TARGET
    else:
        target, met = f"added <= {ADDED_TARGET_US:g} us", o - b <= ADDED_TARGET_US
    return Row(operation, rules, round(b, 2), round(o, 2), round(o - b, 2), round(o / b, 4),
               target, met, len(base), block)


def _calls(base: Any, routed: Any) -> dict[str, tuple[Callable[[], object], Callable[[], object]]]:
    """Each operation as (baseline call, botwo call); same canned response on both sides."""
    return {
        "head_object": (
            lambda: base.head_object(Bucket=TARGET_BUCKET, Key=TARGET_KEY),
            lambda: routed.head_object(Bucket=CALLER_BUCKET, Key=CALLER_KEY),
        ),
        "get_object": (
            lambda: base.get_object(Bucket=TARGET_BUCKET, Key=TARGET_KEY)["Body"].read(),
            lambda: routed.get_object(Bucket=CALLER_BUCKET, Key=CALLER_KEY)["Body"].read(),
        ),
        "put_object": (
            lambda: base.put_object(Bucket=TARGET_BUCKET, Key=TARGET_KEY, Body=PUT_BODY),
            lambda: routed.put_object(Bucket=CALLER_BUCKET, Key=CALLER_KEY, Body=PUT_BODY),
        ),
        "list_objects_v2": (
            lambda: base.list_objects_v2(Bucket=TARGET_BUCKET, Prefix=KEY_PREFIX + LIST_PREFIX),
            lambda: routed.list_objects_v2(Bucket=CALLER_BUCKET, Prefix=LIST_PREFIX),
        ),
    }


class _SeenRequests:
    """Records the URLs the backend would have been sent (to check the routing)."""

    def __init__(self) -> None:
        self.urls: list[str] = []

    def __call__(self, request: Any, **_: Any) -> None:
        self.urls.append(request.url)


def check_equivalence(base: Any, routed: Any) -> None:
    """Both sides send the same request and botwo hands back caller names."""
    seen = _SeenRequests()
    base.meta.events.register_first("before-send.s3", seen)
    try:
        head = routed.head_object(Bucket=CALLER_BUCKET, Key=CALLER_KEY)
        assert head["ETag"] == _ETAG and head["ContentLength"] == len(OBJECT_BODY), head
        body = routed.get_object(Bucket=CALLER_BUCKET, Key=CALLER_KEY)["Body"].read()
        assert body == OBJECT_BODY
        put = routed.put_object(Bucket=CALLER_BUCKET, Key=CALLER_KEY, Body=PUT_BODY)
        assert put["ETag"] == _PUT_HEADERS["ETag"], put
        page = routed.list_objects_v2(Bucket=CALLER_BUCKET, Prefix=LIST_PREFIX)
        keys = [c["Key"] for c in page["Contents"]]
        assert len(keys) == LIST_KEYS and keys[42] == CALLER_KEY, keys[:3]
        assert page["Name"] == CALLER_BUCKET and page["Prefix"] == LIST_PREFIX, page["Prefix"]
        routed_urls = list(seen.urls)
        seen.urls.clear()
        for baseline, _ in _calls(base, routed).values():
            baseline()
        assert routed_urls == seen.urls, (routed_urls, seen.urls)
        assert all(TARGET_BUCKET in url for url in routed_urls) and TARGET_KEY in routed_urls[0], routed_urls
    finally:
        base.meta.events.unregister("before-send.s3", seen)


def measure_overhead(settings: Settings, clients: dict[str, Any]) -> list[Row]:
    rows: list[Row] = []
    base = clients["lakefs"]
    for n_rules in RULE_COUNTS:
        routed = make_botwo(clients, build_mapping(n_rules))
        check_equivalence(base, routed)
        for operation, (baseline, ours) in _calls(base, routed).items():
            if operation == "list_objects_v2":
                pairs, block, warmup = settings.list_pairs, settings.list_block, settings.warmup // 20
            else:
                pairs, block, warmup = settings.pairs, settings.block, settings.warmup
            gc.collect()
            base_ns, ours_ns = interleaved(baseline, ours, pairs, block, max(warmup, 2))
            row = _row(operation, n_rules, base_ns, ours_ns, block)
            rows.append(row)
            print(f"  {operation:16} {n_rules:>6} rules: baseline {row.baseline_us:9.1f} us, "
                  f"botwo {row.botwo_us:9.1f} us, added {row.added_us:+7.2f} us", file=sys.stderr)
    return rows


def measure_build(settings: Settings, clients: dict[str, Any]) -> dict[str, float]:
    """Median ms to build a botwo client (parse, check and compile the table)."""
    out: dict[str, float] = {}
    for n_rules in BUILD_RULE_COUNTS:
        mapping = build_mapping(n_rules)
        times = []
        for _ in range(settings.build_reps):
            gc.collect()
            start = time.perf_counter_ns()
            make_botwo(clients, mapping)
            times.append((time.perf_counter_ns() - start) / 1e6)
        out[str(n_rules)] = round(statistics.median(times), 2)
    return out


# -- instruction counts ----------------------------------------------------------------

COUNT_RULES = 10_000
COUNT_BASE = 100
COUNT_CALLS = 300
COUNT_SIDES = ("baseline", "forward", "botwo", "stub", "botwo_stub")
COUNT_OPERATIONS = ("head_object", "get_object", "put_object")


def _forwarder(base: Any) -> Callable[..., Any]:
    """The least a routing wrapper can do: copy the parameters, rename, call."""

    def forward(method: str, **params: Any) -> Any:
        target = params.copy()
        target["Bucket"] = TARGET_BUCKET
        target["Key"] = KEY_PREFIX + params["Key"]
        return getattr(base, method)(**target)

    return forward


STUB_RESPONSE: dict[str, Any] = {
    "ResponseMetadata": {"HTTPStatusCode": 200, "HTTPHeaders": {}},
    "ETag": '"0"',
}


def _stub(**params: Any) -> dict[str, Any]:
    """An S3 operation that answers at once: what is left of a call is the caller's code."""
    return STUB_RESPONSE


def run_calls(side: str, operation: str, n_rules: int, calls: int) -> None:
    """The body of a counted process: build, warm up, then ``calls`` calls of one side."""
    clients = {"s3": offline_client(), "lakefs": offline_client()}
    if side in ("stub", "botwo_stub"):  # botocore taken out: botwo's own code alone
        for stubbed in clients.values():
            setattr(stubbed, operation, _stub)
    base = clients["lakefs"]
    routed = make_botwo(clients, build_mapping(n_rules))
    forward = _forwarder(base)
    baseline_call, botwo_call = _calls(base, routed)[operation]
    body = PUT_BODY if operation == "put_object" else None
    extra = {} if body is None else {"Body": body}

    def forward_call() -> object:
        response = forward(operation, Bucket=CALLER_BUCKET, Key=CALLER_KEY, **extra)
        return response["Body"].read() if operation == "get_object" else response

    def stub_call() -> object:
        return getattr(base, operation)(Bucket=TARGET_BUCKET, Key=TARGET_KEY, **extra)

    def botwo_stub_call() -> object:
        return getattr(routed, operation)(Bucket=CALLER_BUCKET, Key=CALLER_KEY, **extra)

    call = {"baseline": baseline_call, "forward": forward_call, "botwo": botwo_call,
            "stub": stub_call, "botwo_stub": botwo_stub_call}[side]
    for _ in range(50):
        call()
    gc.collect()
    gc.disable()
    for _ in range(calls):
        call()


def _counted(side: str, operation: str, calls: int) -> int:
    """Instructions that callgrind counts for a whole process making ``calls`` calls."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
               __file__, "--count", side, operation, str(COUNT_RULES), str(calls)]
    done = subprocess.run(command, capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected\s*:\s*(\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def measure_instructions() -> list[dict[str, Any]]:
    """Instructions per call of each side, at ``COUNT_RULES`` rules."""
    jobs = [(side, op, n) for op in COUNT_OPERATIONS for side in COUNT_SIDES
            for n in (COUNT_BASE, COUNT_BASE + COUNT_CALLS)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        totals = dict(zip(jobs, pool.map(lambda job: _counted(*job), jobs), strict=True))
    rows = []
    for op in COUNT_OPERATIONS:
        per_call = {side: (totals[(side, op, COUNT_BASE + COUNT_CALLS)] - totals[(side, op, COUNT_BASE)])
                    / COUNT_CALLS for side in COUNT_SIDES}
        rows.append({
            "operation": op,
            "rules": COUNT_RULES,
            **{f"{side}_per_call": round(v) for side, v in per_call.items()},
            "botwo_added": round(per_call["botwo"] - per_call["baseline"]),
            "botwo_minus_forward": round(per_call["botwo"] - per_call["forward"]),
            "botwo_own": round(per_call["botwo_stub"] - per_call["stub"]),
            "ratio": round(per_call["botwo"] / per_call["baseline"], 4),
        })
        print(f"  {op:16} instructions per call: baseline {per_call['baseline']:,.0f}, "
              f"botwo +{per_call['botwo'] - per_call['baseline']:,.0f}", file=sys.stderr)
    return rows


# -- report ----------------------------------------------------------------------------


def markdown(rows: list[Row], build_ms: dict[str, float], first_client_ms: float) -> str:
    lines = [
        "| operation | rules | baseline µs | botwo µs | added µs | ratio | target | met |",
        "|---|---:|---:|---:|---:|---:|---|:-:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.operation} | {r.rules:,} | {r.baseline_us:,.1f} | {r.botwo_us:,.1f} | "
            f"{r.added_us:+.2f} | {r.ratio:.3f} | {r.target.replace('<=', '≤').replace(' us', ' µs')} | "
            f"{'yes' if r.met else '**no**'} |"
        )
    lines += ["", "| build a botwo client | time |", "|---|---:|"]
    lines.append(f"| first client in the process (generates the client class), 2 rules | "
                 f"{first_client_ms:,.1f} ms |")
    lines += [f"| {int(n):,} rules | {ms:,.1f} ms |" for n, ms in build_ms.items()]
    return "\n".join(lines)


def instructions_markdown(rows: list[dict[str, Any]]) -> str:
    lines = [
        f"| operation ({COUNT_RULES:,} rules) | baseline instructions | botwo adds | "
        "of which forwarding | botwo / baseline | botwo's own code |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        forwarding = r["botwo_added"] - r["botwo_minus_forward"]
        lines.append(f"| {r['operation']} | {r['baseline_per_call']:,} | {r['botwo_added']:+,} | "
                     f"{forwarding:+,} | {r['ratio']:.4f} | {r['botwo_own']:,} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    parser.add_argument("--instructions", action="store_true",
                        help="also count instructions per call with valgrind's callgrind")
    parser.add_argument("--count", nargs=4, metavar=("SIDE", "OPERATION", "RULES", "CALLS"),
                        help=argparse.SUPPRESS)  # the body of one counted process
    args = parser.parse_args(argv)
    if args.count:
        side, operation, n_rules, calls = args.count
        run_calls(side, operation, int(n_rules), int(calls))
        return 0
    if args.instructions and shutil.which("valgrind") is None:
        parser.error("--instructions needs valgrind (Debian: apt-get install valgrind)")
    settings = QUICK if args.quick else FULL

    clients = {"s3": offline_client(), "lakefs": offline_client()}
    start = time.perf_counter_ns()
    make_botwo(clients, build_mapping(2))
    first_client_ms = (time.perf_counter_ns() - start) / 1e6

    rows = measure_overhead(settings, clients)
    build_ms = measure_build(settings, clients)
    at_scale = [r for r in rows if r.rules == max(RULE_COUNTS)]
    all_met = all(r.met for r in at_scale)

    counts = measure_instructions() if args.instructions else []

    table = markdown(rows, build_ms, first_client_ms)
    if counts:
        table += "\n\n" + instructions_markdown(counts)
    print(table)
    print(f"\nTargets at {max(RULE_COUNTS):,} rules: {'met' if all_met else 'MISSED'}.")

    report = {
        "benchmark": "botwo per-call overhead over the same boto3 client, network removed",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "mode": "quick" if args.quick else "full",
        "python": platform.python_version(),
        "platform": platform.platform(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "botwo": botwo.__version__,
        "settings": asdict(settings),
        "targets": {"added_us_max": ADDED_TARGET_US, "list_ratio_max": LIST_RATIO_TARGET,
                    "at_rules": max(RULE_COUNTS), "met": all_met},
        "overhead": [asdict(r) for r in rows],
        "build_ms": {"first_client_2_rules": round(first_client_ms, 2), **build_ms},
        "instructions": {"rules": COUNT_RULES, "calls": COUNT_CALLS, "per_call": counts} if counts else None,
        "markdown": table,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"Wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
