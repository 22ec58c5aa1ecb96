"""Cross-backend copy of one large object between two S3 servers: botwo, rclone, naive.

Method
------
Two local S3 servers (``botwo.testing.LocalS3Server``: one moto process each, with its
own credentials) play two S3-compatible services. The source server holds one object of
``--size`` bytes (1 GiB by default, random bytes). Each copier copies it to the other
server, each in a **process of its own**:

* ``botwo``: ``copy_object`` on a botwo client whose rules route the source bucket
  (renamed, with a ``key_prefix``) to one server and the destination bucket to the
  other, i.e. the cross-backend copy a botwo user gets (streamed, multipart, checked);
* ``rclone``: ``rclone copyto src:bucket/key dst:bucket/key`` with rclone's defaults,
  the two remotes configured through ``RCLONE_CONFIG_*`` environment variables (skipped,
  with a message, when rclone is not installed: ``apt-get install rclone``);
* ``naive``: ``get_object()["Body"].read()`` then ``put_object``, the five-line copy.

For every run the parent measures the copying process's wall time (from its start to
its exit, imports included) and its peak resident set size, taken from the kernel's
accounting of that one child (``os.wait4``); the servers' own memory does not count.
Copiers run in interleaved rounds (the order rotates each round) on a machine that is
shared, and each figure is the median over the rounds (5 by default). Between runs the destination
object is deleted and any multipart upload aborted. After every run the destination's
size is checked, and in the first round its MD5 too.

Throughput is size / wall time, in MiB/s, and as a ratio to rclone's in the same run.
botwo's targets: at least rclone's throughput, with a peak RSS of at most 128 MiB.

Run ``python benchmarks/bench_copy.py`` (or ``nox -s bench_copy``); ``--size 64MiB``
for a quick smoke run. The table is printed as markdown and written, with every run's
figures, to ``benchmarks/results/copy.json``.
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

MiB = 1024 * 1024
RESULTS = Path(__file__).resolve().parent / "results" / "copy.json"

SOURCE_BUCKET = "bench-source"  # on the source server
SOURCE_PREFIX = "main/"  # botwo's key_prefix there
CALLER_SOURCE_BUCKET = "archive"  # the caller's name for it, in botwo's rules
DEST_BUCKET = "bench-dest"  # on the destination server (same name for the caller)
KEY = "datasets/big.bin"

RSS_TARGET_MIB = 128.0
COPIERS = ("botwo", "rclone", "naive")
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*(B|KiB|MiB|GiB)?", re.IGNORECASE)
_UNITS = {"b": 1, "kib": 1024, "mib": MiB, "gib": 1024 * MiB}


def parse_size(text: str) -> int:
    found = _SIZE.fullmatch(text.strip())
    if found is None:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 1GiB, 64MiB, 1048576)")
    return int(float(found[1]) * _UNITS[(found[2] or "b").lower()])


# -- the copying processes -------------------------------------------------------------


def _client(server: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=server["endpoint"],
        region_name="us-east-1",
        aws_access_key_id=server["access_key"],
        aws_secret_access_key=server["secret_key"],
        config=Config(s3={"addressing_style": "path"}, retries={"mode": "standard"}),
    )


def child(copier: str, spec: dict[str, Any]) -> None:
    """Run one copy in this process and print how long the copy itself took."""
    src, dst = _client(spec["source"]), _client(spec["dest"])
    start = time.perf_counter()
    if copier == "botwo":
        import botwo

        tuning = spec.get("tuning") or {}
        if tuning:  # --part-size & co.: the defaults of every cross-backend copy
            from botwo import _copy

            defaults = _copy.CrossCopy.__init__.__kwdefaults__
            assert defaults is not None
            defaults.update(tuning)
        s3: Any = botwo.client(
            {"source": src, "dest": dst},
            [
                {
                    "bucket_name": CALLER_SOURCE_BUCKET,
                    "mapped_bucket_name": SOURCE_BUCKET,
                    "client": "source",
                    "key_prefix": SOURCE_PREFIX,
                },
                {"bucket_name": "*", "client": "dest"},
            ],
        )
        start = time.perf_counter()
        s3.copy_object(Bucket=DEST_BUCKET, Key=KEY, CopySource={"Bucket": CALLER_SOURCE_BUCKET, "Key": KEY})
    elif copier == "naive":
        body = src.get_object(Bucket=SOURCE_BUCKET, Key=SOURCE_PREFIX + KEY)["Body"].read()
        dst.put_object(Bucket=DEST_BUCKET, Key=KEY, Body=body)
    else:
        raise SystemExit(f"unknown copier {copier!r}")
    print(json.dumps({"copy_seconds": time.perf_counter() - start}))


def _rclone_env(spec: dict[str, Any]) -> dict[str, str]:
    # AWS_* settings are for the Python copiers' boto3; rclone's AWS SDK would also pick
    # up AWS_CA_BUNDLE, which it cannot use with its own HTTP transport (and the local
    # servers speak plain HTTP anyway).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    for remote, server in (("SRC", spec["source"]), ("DST", spec["dest"])):
        prefix = f"RCLONE_CONFIG_{remote}_"
        env.update(
            {
                prefix + "TYPE": "s3",
                prefix + "PROVIDER": "Other",
                prefix + "ENDPOINT": server["endpoint"],
                prefix + "ACCESS_KEY_ID": server["access_key"],
                prefix + "SECRET_ACCESS_KEY": server["secret_key"],
                prefix + "REGION": "us-east-1",
                prefix + "FORCE_PATH_STYLE": "true",
            }
        )
    return env


@dataclass
class Run:
    copier: str
    round: int
    seconds: float  # the copying process, start to exit
    copy_seconds: float | None  # the copy alone, as the process measured it (Python copiers)
    cpu_seconds: float  # the copying process's user + system CPU time
    peak_rss_mib: float
    mib_per_s: float
    verified: str


# Runs the copier as its child and reports that child's wall time and peak RSS. A small
# process of its own: Linux carries the RSS high-water mark of the process that forks
# over into the forked child, so a child forked by this (large) script would report at
# least this script's peak. RUSAGE_CHILDREN would be the maximum over every child so far;
# os.wait4 gives this one child's usage.
_LAUNCHER = """
import json, os, sys, time
report, command = sys.argv[1], sys.argv[2:]
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(command[0], command)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - start
with open(report, "w") as file:
    json.dump({"seconds": seconds, "returncode": os.waitstatus_to_exitcode(status),
               "maxrss_kib": usage.ru_maxrss, "cpu_seconds": usage.ru_utime + usage.ru_stime}, file)
"""


def run_copier(copier: str, spec: dict[str, Any], size: int, round_: int) -> Run:
    """Run one copier in a process of its own: its wall time and peak RSS."""
    if copier == "rclone":
        command = [
            "rclone",
            "copyto",
            f"src:{SOURCE_BUCKET}/{SOURCE_PREFIX}{KEY}",
            f"dst:{DEST_BUCKET}/{KEY}",
            "--config",
            os.devnull,
        ]
        env = _rclone_env(spec)
    else:
        command = [sys.executable, str(Path(__file__).resolve()), "--child", copier]
        env = {**os.environ, "BOTWO_BENCH_SPEC": json.dumps(spec)}
    with tempfile.TemporaryDirectory() as tmp:
        report = Path(tmp) / "usage.json"
        out, err = Path(tmp) / "stdout", Path(tmp) / "stderr"
        with out.open("wb") as stdout_file, err.open("wb") as stderr_file:
            subprocess.run(
                [sys.executable, "-S", "-c", _LAUNCHER, str(report), *command],
                env=env,
                stdout=stdout_file,
                stderr=stderr_file,
                check=False,
            )
        usage = json.loads(report.read_text())
        stdout, stderr = out.read_text(errors="replace"), err.read_text(errors="replace")
    seconds = usage["seconds"]
    returncode = usage["returncode"]
    if returncode != 0:
        raise RuntimeError(f"{copier} failed ({returncode}): {stderr[-2000:]}")
    copy_seconds = None
    if copier != "rclone":
        copy_seconds = json.loads(stdout.strip().splitlines()[-1])["copy_seconds"]
    return Run(
        copier=copier,
        round=round_,
        seconds=round(seconds, 3),
        copy_seconds=None if copy_seconds is None else round(copy_seconds, 3),
        cpu_seconds=round(usage["cpu_seconds"], 2),
        peak_rss_mib=round(usage["maxrss_kib"] / 1024, 1),
        mib_per_s=round(size / MiB / seconds, 1),
        verified="",
    )


# -- the servers and the object --------------------------------------------------------


def put_source(client: Any, size: int) -> str:
    """Upload ``size`` random bytes as the source object (multipart); its MD5."""
    md5 = hashlib.md5(usedforsecurity=False)
    part = 64 * MiB
    upload = client.create_multipart_upload(Bucket=SOURCE_BUCKET, Key=SOURCE_PREFIX + KEY)
    parts = []
    for number, start in enumerate(range(0, size, part), start=1):
        data = os.urandom(min(part, size - start))
        md5.update(data)
        response = client.upload_part(
            Bucket=SOURCE_BUCKET,
            Key=SOURCE_PREFIX + KEY,
            UploadId=upload["UploadId"],
            PartNumber=number,
            Body=data,
        )
        parts.append({"PartNumber": number, "ETag": response["ETag"]})
    client.complete_multipart_upload(
        Bucket=SOURCE_BUCKET,
        Key=SOURCE_PREFIX + KEY,
        UploadId=upload["UploadId"],
        MultipartUpload={"Parts": parts},
    )
    return md5.hexdigest()


def clear_dest(client: Any) -> None:
    client.delete_object(Bucket=DEST_BUCKET, Key=KEY)
    for upload in client.list_multipart_uploads(Bucket=DEST_BUCKET).get("Uploads", []):
        client.abort_multipart_upload(Bucket=DEST_BUCKET, Key=upload["Key"], UploadId=upload["UploadId"])


def verify(client: Any, size: int, md5: str | None) -> str:
    head = client.head_object(Bucket=DEST_BUCKET, Key=KEY)
    if head["ContentLength"] != size:
        raise RuntimeError(f"the copy has {head['ContentLength']} bytes, not {size}")
    if md5 is None:
        return "size"
    digest = hashlib.md5(usedforsecurity=False)
    body = client.get_object(Bucket=DEST_BUCKET, Key=KEY)["Body"]
    while chunk := body.read(8 * MiB):
        digest.update(chunk)
    if digest.hexdigest() != md5:
        raise RuntimeError("the copy's bytes differ from the source's")
    return "size+md5"


# -- report ----------------------------------------------------------------------------


@dataclass
class Summary:
    copier: str
    seconds: float
    mib_per_s: float
    vs_rclone: float | None
    peak_rss_mib: float
    cpu_seconds: float
    runs: int
    copy_seconds: float | None = None
    met: bool | None = None
    notes: list[str] = field(default_factory=list)


def summarize(runs: list[Run], size: int) -> list[Summary]:
    out: list[Summary] = []
    by_copier = {c: [r for r in runs if r.copier == c] for c in COPIERS}
    rclone = by_copier.get("rclone") or []
    rclone_rate = size / MiB / statistics.median(r.seconds for r in rclone) if rclone else None
    for copier, mine in by_copier.items():
        if not mine:
            continue
        seconds = statistics.median(r.seconds for r in mine)
        rate = size / MiB / seconds
        copy_times = [r.copy_seconds for r in mine if r.copy_seconds is not None]
        summary = Summary(
            copier=copier,
            seconds=round(seconds, 2),
            mib_per_s=round(rate, 1),
            vs_rclone=round(rate / rclone_rate, 3) if rclone_rate else None,
            peak_rss_mib=max(r.peak_rss_mib for r in mine),
            cpu_seconds=round(statistics.median(r.cpu_seconds for r in mine), 2),
            runs=len(mine),
            copy_seconds=round(statistics.median(copy_times), 2) if copy_times else None,
        )
        if copier == "botwo":
            summary.met = summary.peak_rss_mib <= RSS_TARGET_MIB and (
                summary.vs_rclone is None or summary.vs_rclone >= 1.0
            )
        out.append(summary)
    return out


def markdown(summaries: list[Summary], size: int) -> str:
    lines = [
        f"| copier ({size / MiB:,.0f} MiB) | wall s (median) | MiB/s | vs rclone | peak RSS MiB (max) "
        "| CPU s (median) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in summaries:
        ratio = f"{s.vs_rclone:.2f}" if s.vs_rclone is not None else "n/a"
        lines.append(
            f"| {s.copier} | {s.seconds:,.2f} | {s.mib_per_s:,.1f} | {ratio} | {s.peak_rss_mib:,.1f} "
            f"| {s.cpu_seconds:,.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--size", type=parse_size, default=1024 * MiB, help="object size (default 1GiB)")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument(
        "--copiers", default=",".join(COPIERS), help=f"comma-separated, of {', '.join(COPIERS)}"
    )
    parser.add_argument("--output", type=Path, default=RESULTS, help=f"JSON results (default {RESULTS})")
    tuning = parser.add_argument_group("botwo's cross-copy settings (default: botwo's defaults)")
    tuning.add_argument("--part-size", type=parse_size)
    tuning.add_argument("--concurrency", type=int)
    tuning.add_argument("--read-streams", type=int)
    parser.add_argument("--child", choices=("botwo", "naive"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        child(args.child, json.loads(os.environ["BOTWO_BENCH_SPEC"]))
        return 0

    from botwo import _values
    from botwo.testing import LocalS3Server

    copiers = [c.strip() for c in args.copiers.split(",") if c.strip()]
    unknown = set(copiers) - set(COPIERS)
    if unknown:
        parser.error(f"unknown copiers: {', '.join(sorted(unknown))}")
    notes: list[str] = []
    if "rclone" in copiers and shutil.which("rclone") is None:
        message = "rclone is not installed (apt-get install rclone): skipped, no ratio to rclone"
        print(f"NOTE: {message}", file=sys.stderr)
        notes.append(message)
        copiers.remove("rclone")
    tuning_args = {
        name: value
        for name, value in (
            ("part_size", args.part_size),
            ("concurrency", args.concurrency),
            ("read_streams", args.read_streams),
        )
        if value is not None
    }
    settings = {
        "part_size": _values.DEFAULT_PART_SIZE,
        "concurrency": _values.DEFAULT_CONCURRENCY,
        "read_streams": _values.DEFAULT_READ_STREAMS,
        **tuning_args,
    }

    size: int = args.size
    runs: list[Run] = []
    with LocalS3Server("source") as source, LocalS3Server("dest") as dest:
        spec = {
            "source": {
                "endpoint": source.endpoint_url,
                "access_key": source.access_key,
                "secret_key": source.secret_key,
            },
            "dest": {
                "endpoint": dest.endpoint_url,
                "access_key": dest.access_key,
                "secret_key": dest.secret_key,
            },
            "tuning": tuning_args,
        }
        src_client, dst_client = source.client(), dest.client()
        src_client.create_bucket(Bucket=SOURCE_BUCKET)
        dst_client.create_bucket(Bucket=DEST_BUCKET)
        print(f"uploading the {size / MiB:,.0f} MiB source object...", file=sys.stderr)
        md5 = put_source(src_client, size)
        for round_ in range(args.rounds):
            order = copiers[round_ % len(copiers) :] + copiers[: round_ % len(copiers)]
            for copier in order:
                clear_dest(dst_client)
                run = run_copier(copier, spec, size, round_)
                run.verified = verify(dst_client, size, md5 if round_ == 0 else None)
                runs.append(run)
                print(
                    f"  round {round_ + 1} {copier:7} {run.seconds:8.2f} s {run.mib_per_s:8.1f} MiB/s "
                    f"peak RSS {run.peak_rss_mib:7.1f} MiB CPU {run.cpu_seconds:6.2f} s "
                    f"({run.verified} checked)",
                    file=sys.stderr,
                )
        clear_dest(dst_client)

    summaries = summarize(runs, size)
    table = markdown(summaries, size)
    botwo_summary = next((s for s in summaries if s.copier == "botwo"), None)
    print(table)
    if botwo_summary is not None:
        verdict = "met" if botwo_summary.met else "MISSED"
        print(f"\nbotwo target (>= rclone's MiB/s, peak RSS <= {RSS_TARGET_MIB:.0f} MiB): {verdict}.")

    import boto3
    import botocore

    import botwo

    rclone_version = None
    if shutil.which("rclone"):
        version = subprocess.run(["rclone", "version"], capture_output=True, text=True, check=False)
        rclone_version = version.stdout.splitlines()[0] if version.stdout else None
    report = {
        "benchmark": "cross-backend copy of one object between two local S3 (moto) servers",
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": " ".join(["python benchmarks/bench_copy.py", *(sys.argv[1:] if argv is None else argv)]),
        "size_bytes": size,
        "rounds": args.rounds,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "boto3": boto3.__version__,
        "botocore": botocore.__version__,
        "botwo": botwo.__version__,
        "rclone": rclone_version,
        "botwo_settings": settings,
        "targets": {
            "rss_mib_max": RSS_TARGET_MIB,
            "vs_rclone_min": 1.0,
            "met": None if botwo_summary is None else botwo_summary.met,
        },
        "summary": [asdict(s) for s in summaries],
        "runs": [asdict(r) for r in runs],
        "notes": notes,
        "markdown": table,
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n")
    print(f"Wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
