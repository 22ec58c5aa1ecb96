"""Reading through the ``botwo://`` fsspec filesystem against plain boto3 calls.

Method
------
One local S3 server (``botwo.testing.LocalS3Server``, one moto process) holds, in bucket
``bench-data`` under ``main/``:

* ``big.parquet``: a Parquet file of ``--size`` bytes (256 MiB by default): 8 columns of
  random float64/int64, 8 row groups, uncompressed and without dictionaries, so its
  size is the data's. Written once, with one ``put_object``, before timing;
* ``small/NNNNN.bin``: ``--objects`` objects (1,000 by default) of random bytes, 4 KiB
  to 64 KiB each (seeded sizes).

The botwo configuration routes the caller's bucket ``datasets`` to that bucket with a
rename and ``key_prefix = "main/"``, plus a catch-all (a second client, same server),
so every botwo request is routed and renamed. The boto3 baseline is a client built with
the same options as botwo's, asking the same server for ``bench-data/main/...``.

Each reader runs in a **process of its own** (fresh, so no reader inherits another's
connections, caches or allocator state), which builds its client or filesystem, warms
it up with one ``head_object`` of a small object (the Parquet readers also read a tiny
table, so that pyarrow's lazy imports are done), and then times its reading alone:

Large file, streamed in ``--chunk`` (8 MiB) reads, the bytes dropped as they come:

* ``botwo fs.open``: ``fs.open(path, "rb")`` with fsspec's defaults as botwo sets them
  (5 MiB block, read-ahead cache), ``f.read(8 MiB)`` until the end;
* ``boto3 ranged GETs``: one ``get_object(Range=...)`` per 8 MiB, its body read whole:
  the same requests that botwo's file sends for these reads (the size taken from the
  first answer's ``Content-Range``, where botwo asks with a ``head_object``);
* ``boto3 one GET``: one ``get_object``, its body read 8 MiB at a time.

Large file, read as a Parquet table with ``pyarrow.parquet.read_table``:

* ``botwo fs.open``: ``read_table(fs.open(path, "rb"))``;
* ``botwo filesystem=fs``: ``read_table(path, filesystem=fs)``, what
  ``pandas.read_parquet("botwo://...")`` and Dask do;
* ``boto3 ranged file``: ``read_table`` over a minimal seekable file object that sends
  one ranged ``get_object`` per read pyarrow makes (its size from a ``head_object``);
* ``boto3 one GET``: ``read_table(pa.BufferReader(get_object()["Body"].read()))``, the
  whole file in memory first.

Small objects, every one read whole:

* interleaved, in one process: ``fs.cat_file(path)`` and ``get_object(...)["Body"]
  .read()`` called in turn, object by object (botwo first for even objects, boto3 first
  for odd ones); each side's time is the sum of its own calls, its CPU time the thread
  CPU time of its calls. Both sides meet the same machine load, call by call: the
  steadiest figure on a shared machine;
* sequential, a process each: ``fs.cat([...all paths...])`` against a loop of
  ``get_object(...)["Body"].read()``;
* ``--threads`` (8) threads, a process each: ``pool.map(fs.cat_file, paths)`` against
  ``pool.map`` of the same ``get_object`` call.

For every run the reading process reports its wall time, its CPU time (user + system)
and its **peak RSS growth** while reading: the kernel's high-water mark (``VmHWM``,
reset through ``/proc/self/clear_refs`` just before reading) minus the resident size
just before reading. It also counts the requests its boto3 clients sent, by operation.
Readers run in interleaved rounds (the order reverses every round) and each figure is
the median over the rounds (5 by default). Before timing, what botwo reads is checked
once against what was written (the big file's MD5, every small object's bytes).

Ratios are botwo / boto3 of the median throughputs, in the same run; the target is at
least 0.95, with a peak RSS growth while streaming the large file far below its size
(at most 64 MiB). The moto server reads the **whole object** from its store for every
GET, ranged or not, so on this server a ranged GET of 8 MiB from a 256 MiB object costs
as much server time as one GET of all of it: the "one GET" baselines show what that
costs a reader that sends ranged GETs (see the README). moto's server also closes the
connection after every answer, so every request, on both sides, opens a new one.

Run ``python benchmarks/bench_fs.py`` (or ``nox -s bench_fs``); ``--quick`` is
``--size 32MiB --objects 100 --rounds 2``. The table is printed as markdown and
written, with every run's figures, to ``benchmarks/results/fs.json``.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import datetime
import hashlib
import io
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
RESULTS = Path(__file__).resolve().parent / "results" / "fs.json"

BUCKET = "bench-data"  # on the server
PREFIX = "main/"  # botwo's key_prefix there
CALLER_BUCKET = "datasets"  # the caller's name for it, in botwo's rules
BIG = "big.parquet"
SMALL = "small/"
COLUMNS = 8  # 4 float64 + 4 int64: 64 bytes a row
ROW_GROUPS = 8

TARGET_RATIO = 0.95
RSS_TARGET_MIB = 64.0

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(B|KiB|MiB|GiB)?", re.IGNORECASE)
_UNITS = {"b": 1, "kib": 1024, "mib": MiB, "gib": 1024 * MiB}


def parse_size(text: str) -> int:
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 256MiB, 32MiB, 1048576)")
    return int(float(found[1]) * _UNITS[(found[2] or "b").lower()])


@dataclass(frozen=True)
class Reader:
    name: str  # e.g. "stream/botwo"
    workload: str  # stream, parquet, small-pairs, small-seq, small-threads
    side: str  # botwo or boto3
    label: str  # for the table

    @property
    def process(self) -> str:
        """The reading process that measures this reader (both sides of small-pairs in one)."""
        return PAIRS if self.workload == PAIRS else self.name


PAIRS = "small-pairs"


READERS = (
    Reader("stream/botwo", "stream", "botwo", "botwo `fs.open`, 8 MiB reads"),
    Reader("stream/boto3-ranged", "stream", "boto3", "boto3 ranged GETs, 8 MiB each"),
    Reader("stream/boto3-one-get", "stream", "boto3", "boto3 one GET, body read 8 MiB at a time"),
    Reader("parquet/botwo-open", "parquet", "botwo", "botwo `read_table(fs.open(path))`"),
    Reader("parquet/botwo-filesystem", "parquet", "botwo", "botwo `read_table(path, filesystem=fs)`"),
    Reader("parquet/boto3-ranged", "parquet", "boto3", "boto3 file object, a ranged GET per read"),
    Reader("parquet/boto3-one-get", "parquet", "boto3", "boto3 one GET, `BufferReader`"),
    Reader("small-pairs/botwo", PAIRS, "botwo", "botwo `fs.cat_file`, calls interleaved"),
    Reader("small-pairs/boto3", PAIRS, "boto3", "boto3 `get_object`, calls interleaved"),
    Reader("small-seq/botwo", "small-seq", "botwo", "botwo `fs.cat(paths)`"),
    Reader("small-seq/boto3", "small-seq", "boto3", "boto3 `get_object` loop"),
    Reader("small-threads/botwo", "small-threads", "botwo", "botwo `fs.cat_file`, thread pool"),
    Reader("small-threads/boto3", "small-threads", "boto3", "boto3 `get_object`, thread pool"),
)
BY_NAME = {r.name: r for r in READERS}

#: botwo reader / boto3 reader: the ratios reported (the first of each workload is the
#: same requests on both sides; "one GET" is one streamed request for the whole file).
COMPARISONS = (
    ("stream/botwo", "stream/boto3-ranged"),
    ("stream/botwo", "stream/boto3-one-get"),
    ("parquet/botwo-open", "parquet/boto3-ranged"),
    ("parquet/botwo-filesystem", "parquet/boto3-ranged"),
    ("parquet/botwo-open", "parquet/boto3-one-get"),
    ("small-pairs/botwo", "small-pairs/boto3"),
    ("small-seq/botwo", "small-seq/boto3"),
    ("small-threads/botwo", "small-threads/boto3"),
)


# -- the reading processes -----------------------------------------------------------------


def _status(field_name: str) -> int:
    """A ``/proc/self/status`` figure in bytes (``VmRSS``, ``VmHWM``)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {field_name} in /proc/self/status")


def _reset_peak() -> bool:
    """Reset this process's RSS high-water mark to its current RSS (Linux 4.0+)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _boto3_client(spec: dict[str, Any]) -> Any:
    """A boto3 client with exactly the options of botwo's clients."""
    import boto3
    from botocore.config import Config

    options = dict(spec["client"])
    config = Config(**options.pop("config"))
    return boto3.client("s3", config=config, **options)


def _count_requests(clients: list[Any]) -> Counter[str]:
    counts: Counter[str] = Counter()

    def count(model: Any, params: Any, **_: Any) -> None:
        ranged = "Range" in params.get("headers", {})
        counts[model.name + (" (ranged)" if ranged else "")] += 1

    for client in clients:
        client.meta.events.register("before-call.s3", count)
    return counts


class RangedFile(io.RawIOBase):
    """A read-only, seekable file over plain boto3: one ranged ``get_object`` per read."""

    def __init__(self, client: Any, bucket: str, key: str) -> None:
        self.client, self.bucket, self.key = client, bucket, key
        self.size = client.head_object(Bucket=bucket, Key=key)["ContentLength"]
        self.pos = 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.pos, io.SEEK_END: self.size}[whence]
        self.pos = base + offset
        return self.pos

    def read(self, size: int = -1) -> bytes:
        end = self.size if size is None or size < 0 else min(self.size, self.pos + size)
        if end <= self.pos:
            return b""
        body = self.client.get_object(Bucket=self.bucket, Key=self.key, Range=f"bytes={self.pos}-{end - 1}")
        data: bytes = body["Body"].read()
        self.pos += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def child_pairs(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Both small-object readers in one process, their calls interleaved object by object
    (botwo first for even objects, boto3 first for odd ones): each side's total is the sum
    of its own calls' times, so both see the same machine load."""
    import fsspec

    paths = [f"{CALLER_BUCKET}/{SMALL}{i:05d}.bin" for i in range(spec["objects"])]
    keys = [f"{PREFIX}{SMALL}{i:05d}.bin" for i in range(spec["objects"])]
    fs = fsspec.filesystem("botwo", config=spec["config"])
    s3 = _boto3_client(spec)
    fs.client.head_object(Bucket=CALLER_BUCKET, Key=f"{SMALL}00000.bin")  # warm-up
    s3.head_object(Bucket=BUCKET, Key=keys[0])
    counts = {"botwo": _count_requests(list(fs.client.backends.values())), "boto3": _count_requests([s3])}

    def botwo(i: int) -> int:
        return len(fs.cat_file(paths[i]))

    def boto3(i: int) -> int:
        return len(s3.get_object(Bucket=BUCKET, Key=keys[i])["Body"].read())

    sides: dict[str, Callable[[int], int]] = {"botwo": botwo, "boto3": boto3}
    calls: dict[str, list[float]] = {"botwo": [], "boto3": []}
    cpu = {"botwo": 0.0, "boto3": 0.0}
    nbytes = {"botwo": 0, "boto3": 0}
    peak_before = _status("VmRSS")
    _reset_peak()
    for i in range(len(paths)):
        for side in ("botwo", "boto3") if i % 2 == 0 else ("boto3", "botwo"):
            cpu_start, start = time.thread_time(), time.perf_counter()
            nbytes[side] += sides[side](i)
            calls[side].append(time.perf_counter() - start)
            cpu[side] += time.thread_time() - cpu_start
    peak = _status("VmHWM")
    return {
        f"{PAIRS}/{side}": {
            "seconds": sum(calls[side]),
            "cpu_seconds": cpu[side],
            "result": nbytes[side],
            "median_call_us": statistics.median(calls[side]) * 1e6,
            "rss_before_mib": peak_before / MiB,
            "peak_rss_mib": peak / MiB,
            "rss_growth_mib": None,  # one process for both sides
            "requests": dict(sorted(counts[side].items())),
        }
        for side in sides
    }


def child(name: str, spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Run one reader in this process: its timings, memory and requests."""
    if name == PAIRS:
        return child_pairs(spec)
    reader = BY_NAME[name]
    chunk: int = spec["chunk"]
    big_path = f"{CALLER_BUCKET}/{BIG}"
    small_paths = [f"{CALLER_BUCKET}/{SMALL}{i:05d}.bin" for i in range(spec["objects"])]
    small_keys = [f"{PREFIX}{SMALL}{i:05d}.bin" for i in range(spec["objects"])]
    if reader.workload == "parquet":
        import pyarrow as pa
        import pyarrow.fs  # read_table(path, filesystem=fs) wraps fs in it
        import pyarrow.parquet as pq

        # read_table imports pyarrow.dataset (and pandas) on first use: not in the timing.
        tiny = io.BytesIO()
        pq.write_table(pa.table({"x": [1, 2, 3]}), tiny)
        pq.read_table(pa.BufferReader(tiny.getvalue()))
        pq.read_table(io.BytesIO(tiny.getvalue()))
    if reader.side == "botwo":
        import fsspec

        fs = fsspec.filesystem("botwo", config=spec["config"])
        clients = list(fs.client.backends.values())
        fs.client.head_object(Bucket=CALLER_BUCKET, Key=f"{SMALL}00000.bin")  # warm-up
    else:
        s3 = _boto3_client(spec)
        clients = [s3]
        s3.head_object(Bucket=BUCKET, Key=small_keys[0])  # warm-up
    counts = _count_requests(clients)
    pool = concurrent.futures.ThreadPoolExecutor(spec["threads"]) if "threads" in reader.workload else None

    def stream_botwo() -> int:
        n = 0
        with fs.open(big_path, "rb") as f:
            while data := f.read(chunk):
                n += len(data)
        return n

    def stream_ranged() -> int:
        n, size = 0, None
        while size is None or n < size:
            answer = s3.get_object(Bucket=BUCKET, Key=PREFIX + BIG, Range=f"bytes={n}-{n + chunk - 1}")
            size = int(answer["ContentRange"].rsplit("/", 1)[1])
            n += len(answer["Body"].read())
        return n

    def stream_one_get() -> int:
        n = 0
        body = s3.get_object(Bucket=BUCKET, Key=PREFIX + BIG)["Body"]
        while data := body.read(chunk):
            n += len(data)
        return n

    def parquet_botwo_open() -> int:
        with fs.open(big_path, "rb") as f:
            rows: int = pq.read_table(f).num_rows
        return rows

    def parquet_botwo_filesystem() -> int:
        rows: int = pq.read_table(big_path, filesystem=fs).num_rows
        return rows

    def parquet_ranged() -> int:
        with RangedFile(s3, BUCKET, PREFIX + BIG) as f:
            rows: int = pq.read_table(f).num_rows
        return rows

    def parquet_one_get() -> int:
        data = s3.get_object(Bucket=BUCKET, Key=PREFIX + BIG)["Body"].read()
        rows: int = pq.read_table(pa.BufferReader(data)).num_rows
        return rows

    def small_seq_botwo() -> int:
        return sum(len(v) for v in fs.cat(small_paths).values())

    def get(key: str) -> bytes:
        data: bytes = s3.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        return data

    def small_seq_boto3() -> int:
        return sum(len(v) for v in {key: get(key) for key in small_keys}.values())

    def small_threads_botwo() -> int:
        assert pool is not None
        return sum(
            len(v) for v in dict(zip(small_paths, pool.map(fs.cat_file, small_paths), strict=True)).values()
        )

    def small_threads_boto3() -> int:
        assert pool is not None
        return sum(len(v) for v in dict(zip(small_keys, pool.map(get, small_keys), strict=True)).values())

    runs: dict[str, Callable[[], int]] = {
        "stream/botwo": stream_botwo,
        "stream/boto3-ranged": stream_ranged,
        "stream/boto3-one-get": stream_one_get,
        "parquet/botwo-open": parquet_botwo_open,
        "parquet/botwo-filesystem": parquet_botwo_filesystem,
        "parquet/boto3-ranged": parquet_ranged,
        "parquet/boto3-one-get": parquet_one_get,
        "small-seq/botwo": small_seq_botwo,
        "small-seq/boto3": small_seq_boto3,
        "small-threads/botwo": small_threads_botwo,
        "small-threads/boto3": small_threads_boto3,
    }
    run = runs[name]
    if spec.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    rss_before = _status("VmRSS")
    reset = _reset_peak()
    cpu = os.times()
    start = time.perf_counter()
    result = run()
    seconds = time.perf_counter() - start
    cpu_after = os.times()
    peak = _status("VmHWM")
    if spec.get("profile"):
        profiler.disable()
        profiler.dump_stats(spec["profile"])
    if pool is not None:
        pool.shutdown()
    report = {
        "seconds": seconds,
        "cpu_seconds": (cpu_after.user - cpu.user) + (cpu_after.system - cpu.system),
        "result": result,
        "rss_before_mib": rss_before / MiB,
        "peak_rss_mib": peak / MiB,
        "rss_growth_mib": (peak - rss_before) / MiB if reset else None,
        "requests": dict(sorted(counts.items())),
    }
    return {name: report}


# -- the server and the data -------------------------------------------------------------


def make_parquet(size: int) -> tuple[bytes, int]:
    """A Parquet file of about ``size`` bytes and its number of rows."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = max(ROW_GROUPS, size // (COLUMNS * 8))
    rng = np.random.default_rng(0)
    columns: dict[str, Any] = {f"f{i}": rng.random(rows) for i in range(COLUMNS // 2)}
    columns.update({f"i{i}": rng.integers(0, 2**62, rows) for i in range(COLUMNS // 2)})
    out = io.BytesIO()
    pq.write_table(
        pa.table(columns),
        out,
        row_group_size=-(-rows // ROW_GROUPS),
        compression="none",
        use_dictionary=False,
        write_statistics=False,
    )
    return out.getvalue(), rows


def small_sizes(objects: int) -> list[int]:
    import random

    rng = random.Random(0)
    return [rng.randint(4 * 1024, 64 * 1024) for _ in range(objects)]


def fill(client: Any, parquet: bytes, sizes: list[int]) -> dict[str, bytes]:
    """Write the big file and the small objects; the small objects' bytes by caller path."""
    client.create_bucket(Bucket=BUCKET)
    client.put_object(Bucket=BUCKET, Key=PREFIX + BIG, Body=parquet)
    small = {f"{SMALL}{i:05d}.bin": os.urandom(n) for i, n in enumerate(sizes)}
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda kv: client.put_object(Bucket=BUCKET, Key=PREFIX + kv[0], Body=kv[1]), small.items()
            )
        )
    return {f"{CALLER_BUCKET}/{k}": v for k, v in small.items()}


def check(config: dict[str, Any], parquet: bytes, small: dict[str, bytes]) -> None:
    """What botwo reads is what was written (untimed)."""
    import fsspec

    fs = fsspec.filesystem("botwo", config=config, skip_instance_cache=True)
    digest = hashlib.md5(usedforsecurity=False)
    with fs.open(f"{CALLER_BUCKET}/{BIG}", "rb") as f:
        while data := f.read(8 * MiB):
            digest.update(data)
    if digest.hexdigest() != hashlib.md5(parquet, usedforsecurity=False).hexdigest():
        raise RuntimeError("botwo read other bytes than the Parquet file's")
    if fs.cat(list(small)) != small:
        raise RuntimeError("botwo read other bytes than the small objects'")


# -- running and reporting -----------------------------------------------------------------


@dataclass
class Run:
    reader: str
    round: int
    seconds: float
    cpu_seconds: float
    rss_growth_mib: float | None
    peak_rss_mib: float
    requests: dict[str, int]
    median_call_us: float | None = None


def run_process(process: str, spec: dict[str, Any], expected: dict[str, int], round_: int) -> list[Run]:
    """Run one reading process; its readers' runs."""
    env = {**os.environ, "BOTWO_BENCH_SPEC": json.dumps(spec)}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", process],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=1800,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{process} failed ({done.returncode}): {done.stderr[-3000:]}")
    runs = []
    for name, report in json.loads(done.stdout.strip().splitlines()[-1]).items():
        want = expected[BY_NAME[name].workload]
        if report["result"] != want:
            raise RuntimeError(f"{name} read {report['result']}, expected {want}")
        growth, call = report["rss_growth_mib"], report.get("median_call_us")
        runs.append(
            Run(
                reader=name,
                round=round_,
                seconds=round(report["seconds"], 4),
                cpu_seconds=round(report["cpu_seconds"], 3),
                rss_growth_mib=None if growth is None else round(growth, 1),
                peak_rss_mib=round(report["peak_rss_mib"], 1),
                requests=report["requests"],
                median_call_us=None if call is None else round(call, 1),
            )
        )
    return runs


@dataclass
class Summary:
    reader: str
    label: str
    workload: str
    seconds: float
    mib_per_s: float
    objects_per_s: float | None
    cpu_seconds: float
    rss_growth_mib: float | None  # the largest of the runs
    peak_rss_mib: float
    requests: dict[str, int]
    runs: int
    median_call_us: float | None = None  # small-pairs: the median of the rounds' median calls


@dataclass
class Comparison:
    botwo: str
    baseline: str
    ratio: float  # botwo / baseline throughput (medians)
    met: bool
    notes: list[str] = field(default_factory=list)


def summarize(runs: list[Run], nbytes: dict[str, int], objects: int) -> list[Summary]:
    out = []
    for reader in READERS:
        mine = [r for r in runs if r.reader == reader.name]
        if not mine:
            continue
        seconds = statistics.median(r.seconds for r in mine)
        growths = [r.rss_growth_mib for r in mine if r.rss_growth_mib is not None]
        calls = [r.median_call_us for r in mine if r.median_call_us is not None]
        out.append(
            Summary(
                reader=reader.name,
                label=reader.label,
                workload=reader.workload,
                seconds=round(seconds, 3),
                mib_per_s=round(nbytes[reader.workload] / MiB / seconds, 1),
                objects_per_s=round(objects / seconds, 1) if reader.workload.startswith("small") else None,
                cpu_seconds=round(statistics.median(r.cpu_seconds for r in mine), 2),
                rss_growth_mib=max(growths) if growths else None,
                peak_rss_mib=max(r.peak_rss_mib for r in mine),
                requests=mine[-1].requests,
                runs=len(mine),
                median_call_us=round(statistics.median(calls), 1) if calls else None,
            )
        )
    return out


def compare(summaries: list[Summary]) -> list[Comparison]:
    by_name = {s.reader: s for s in summaries}
    out = []
    for ours, theirs in COMPARISONS:
        if ours in by_name and theirs in by_name:
            ratio = by_name[theirs].seconds / by_name[ours].seconds
            met = ratio >= TARGET_RATIO
            notes = []
            growth = by_name[ours].rss_growth_mib
            if ours == "stream/botwo" and growth is not None and growth > RSS_TARGET_MIB:
                met = False
                notes.append(f"peak RSS growth {growth:.1f} MiB > {RSS_TARGET_MIB:.0f} MiB")
            out.append(Comparison(ours, theirs, round(ratio, 3), met, notes))
    return out


def _requests(counts: dict[str, int]) -> str:
    return ", ".join(f"{n} {op}" for op, n in counts.items()) or "none"


def markdown(summaries: list[Summary], comparisons: list[Comparison], size: int, objects: int) -> str:
    titles = {
        "stream": f"{size / MiB:,.0f} MiB file, streamed",
        "parquet": f"{size / MiB:,.0f} MiB Parquet, `read_table`",
        PAIRS: f"{objects:,} small objects, sequential, in one process",
        "small-seq": f"{objects:,} small objects, sequential",
        "small-threads": f"{objects:,} small objects, thread pool",
    }
    lines = [
        "| workload | reader | wall s (median) | throughput | client CPU s | peak RSS growth | requests |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for s in summaries:
        rate = f"{s.mib_per_s:,.1f} MiB/s"
        if s.objects_per_s is not None:
            rate = f"{s.objects_per_s:,.0f} obj/s ({s.mib_per_s:,.1f} MiB/s)"
            if s.median_call_us is not None:
                rate += f", median call {s.median_call_us / 1000:,.2f} ms"
        growth = "n/a" if s.rss_growth_mib is None else f"{s.rss_growth_mib:,.1f} MiB"
        lines.append(
            f"| {titles[s.workload]} | {s.label} | {s.seconds:,.2f} | {rate} | {s.cpu_seconds:,.2f} "
            f"| {growth} | {_requests(s.requests)} |"
        )
    lines += [
        "",
        f"| botwo | against | botwo / boto3 | target ≥ {TARGET_RATIO} |",
        "|---|---|---:|---|",
    ]
    for c in comparisons:
        verdict = "met" if c.met else "MISSED"
        if c.notes:
            verdict += " (" + "; ".join(c.notes) + ")"
        lines.append(
            f"| {BY_NAME[c.botwo].label} | {BY_NAME[c.baseline].label} | {c.ratio:.3f} | {verdict} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--size", type=parse_size, default=256 * MiB, help="Parquet file size (256MiB)")
    parser.add_argument("--objects", type=int, default=1000, help="small objects (1000)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (5)")
    parser.add_argument("--chunk", type=parse_size, default=8 * MiB, help="streaming read size (8MiB)")
    parser.add_argument("--threads", type=int, default=8, help="threads for the small objects (8)")
    parser.add_argument(
        "--readers", default=",".join(r.name for r in READERS), help="comma-separated, of the reader names"
    )
    parser.add_argument("--quick", action="store_true", help="--size 32MiB --objects 100 --rounds 2")
    parser.add_argument("--profile", type=Path, help="a directory for cProfiles of the last round")
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    parser.add_argument("--child", choices=sorted({r.process for r in READERS}), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        print(json.dumps(child(args.child, json.loads(os.environ["BOTWO_BENCH_SPEC"]))), flush=True)
        # No interpreter teardown: pyarrow's thread pools can abort or hang it after a
        # read_table over a Python file object (apache/arrow#34314, #33975, #50482).
        os._exit(0)
    if args.quick:
        args.size, args.objects, args.rounds = 32 * MiB, 100, 2
    names = [n.strip() for n in args.readers.split(",") if n.strip()]
    unknown = set(names) - set(BY_NAME)
    if unknown:
        parser.error(f"unknown readers: {', '.join(sorted(unknown))}")
    # The reading processes, in table order (one for both sides of small-pairs).
    processes = list(dict.fromkeys(r.process for r in READERS if r.name in names))

    import boto3
    import botocore
    import fsspec
    import pyarrow

    import botwo
    from botwo.testing import LocalS3Server

    started = time.perf_counter()
    parquet, rows = make_parquet(args.size)
    sizes = small_sizes(args.objects)
    print(
        f"Parquet file: {len(parquet) / MiB:,.1f} MiB, {rows:,} rows; {args.objects:,} small objects, "
        f"{sum(sizes) / MiB:,.1f} MiB",
        file=sys.stderr,
    )
    small_bytes = sum(sizes)
    nbytes = {"stream": len(parquet), "parquet": len(parquet), "small-seq": small_bytes}
    nbytes["small-threads"] = nbytes[PAIRS] = small_bytes
    expected = {**nbytes, "parquet": rows}
    runs: list[Run] = []
    with LocalS3Server("lake") as server:
        options = server.client_config()
        config = {
            "clients": {"lake": options, "other": server.client_config()},
            "mapping": [
                {
                    "bucket_name": CALLER_BUCKET,
                    "mapped_bucket_name": BUCKET,
                    "client": "lake",
                    "key_prefix": PREFIX,
                },
                {"bucket_name": "*", "client": "other"},
            ],
        }
        small = fill(server.client(), parquet, sizes)
        print(f"wrote the objects in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        check(config, parquet, small)
        del parquet, small
        spec: dict[str, Any] = {
            "config": config,
            "client": options,
            "objects": args.objects,
            "chunk": args.chunk,
            "threads": args.threads,
        }
        if args.profile:
            args.profile.mkdir(parents=True, exist_ok=True)
        for round_ in range(args.rounds):
            for process in processes if round_ % 2 == 0 else processes[::-1]:
                if args.profile and round_ == args.rounds - 1:
                    spec["profile"] = str(args.profile.resolve() / (process.replace("/", "_") + ".prof"))
                else:
                    spec.pop("profile", None)
                for run in run_process(process, spec, expected, round_):
                    runs.append(run)
                    growth = "    n/a" if run.rss_growth_mib is None else f"{run.rss_growth_mib:7.1f}"
                    print(
                        f"  round {round_ + 1} {run.reader:26} {run.seconds:8.3f} s "
                        f"CPU {run.cpu_seconds:7.2f} s RSS growth {growth} MiB  {_requests(run.requests)}",
                        file=sys.stderr,
                    )

    summaries = summarize(runs, nbytes, args.objects)
    comparisons = compare(summaries)
    table = markdown(summaries, comparisons, nbytes["stream"], args.objects)
    print(table)
    report = {
        "benchmark": "reading through the botwo:// fsspec filesystem against plain boto3 (one moto server)",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/bench_fs.py", *(sys.argv[1:] if argv is None else argv)]),
        "parquet_bytes": nbytes["stream"],
        "parquet_rows": rows,
        "row_groups": ROW_GROUPS,
        "small_objects": args.objects,
        "small_bytes": nbytes["small-seq"],
        "chunk_bytes": args.chunk,
        "threads": args.threads,
        "rounds": args.rounds,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "fsspec": fsspec.__version__,
        "pyarrow": pyarrow.__version__,
        "botwo": botwo.__version__,
        "targets": {"ratio_min": TARGET_RATIO, "stream_rss_growth_mib_max": RSS_TARGET_MIB},
        "summary": [asdict(s) for s in summaries],
        "comparisons": [asdict(c) for c in comparisons],
        "runs": [asdict(r) for r in runs],
        "markdown": table,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"Wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
