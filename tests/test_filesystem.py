"""The fsspec filesystem (``botwo://``) over real local S3 servers and a rule table with a
split bucket, a renamed bucket, a fallback rule and read-only routes.

Every check of where bytes landed is made on the backend's own client, in the target's
names; every error is checked for the caller's names. A differential property test runs
random pipe/rm/cp sequences on the split filesystem and on a filesystem over one plain
server holding the whole caller namespace: what the caller sees must be the same.
"""

from __future__ import annotations

import copy
import errno
import gc
import hashlib
import importlib
import json
import multiprocessing
import operator
import os
import pickle
import urllib.request
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import fsspec
import fsspec.config
import pandas as pd
import pytest
from botocore.exceptions import ClientError
from fsspec.implementations.local import LocalFileSystem
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import botwo
from botwo.filesystem import (
    BotwoFile,
    BotwoFileSystem,
    BotwoS3FileSystem,
    os_error,
    part_size,
    route_s3_urls,
)
from botwo.testing import LocalS3Server

from .recorder import Sent

MiB = 2**20

MAPPING: list[dict[str, Any]] = [
    # data/part/... -> lake: lake-data / main/part/... ; the rest of data stays on s3.
    {
        "bucket_name": "data",
        "prefix": "part/",
        "client": "lake",
        "mapped_bucket_name": "lake-data",
        "key_prefix": "main/",
    },
    # data/ref/... -> lake: ref-data / ref/..., read-only.
    {
        "bucket_name": "data",
        "prefix": "ref/",
        "client": "lake",
        "mapped_bucket_name": "ref-data",
        "readonly": True,
    },
    # old -> lake: new-repo / main/...
    {"bucket_name": "old", "mapped_bucket_name": "new-repo", "client": "lake", "key_prefix": "main/"},
    # media: lake first, s3 for what lake does not have; writes to lake.
    {"bucket_name": "media", "client": "lake", "fallback": ["s3"]},
    {"bucket_name": "*", "client": "s3"},
]
S3_BUCKETS = ("data", "media")
LAKE_BUCKETS = ("lake-data", "ref-data", "new-repo", "media")
#: Names of the target side that the caller must never see.
TARGET_NAMES = ("lake-data", "ref-data", "new-repo", "main/")


def make_config(servers: dict[str, LocalS3Server]) -> dict[str, Any]:
    """The configuration, secrets as ``${VAR}`` references (set by the ``env`` fixture)."""
    return {
        "clients": {
            "s3": servers["s3"].client_config(aws_secret_access_key="${FS_S3_SECRET}"),
            "lake": servers["lake"].client_config(aws_secret_access_key="${FS_LAKE_SECRET}"),
        },
        "mapping": MAPPING,
    }


def payload(size: int, seed: str = "fs") -> bytes:
    block = b"".join(hashlib.sha256(f"{seed}{i}".encode()).digest() for i in range(MiB // 32))
    return (block * (size // len(block) + 1))[:size]


def objects(client: Any, bucket: str) -> dict[str, bytes]:
    """Every object of a backend bucket, key -> bytes, read through the backend's own client."""
    listed = client.list_objects_v2(Bucket=bucket).get("Contents", [])
    return {o["Key"]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def uploads(client: Any, bucket: str) -> list[str]:
    return [u["Key"] for u in client.list_multipart_uploads(Bucket=bucket).get("Uploads", [])]


@pytest.fixture
def cfg(servers: dict[str, LocalS3Server]) -> dict[str, Any]:
    os.environ["FS_S3_SECRET"] = servers["s3"].secret_key
    os.environ["FS_LAKE_SECRET"] = servers["lake"].secret_key
    return make_config(servers)


@pytest.fixture
def fs(backends: dict[str, Any], cfg: dict[str, Any]) -> BotwoFileSystem:
    """The filesystem over clean servers with the target buckets created."""
    for bucket in S3_BUCKETS:
        backends["s3"].create_bucket(Bucket=bucket)
    for bucket in LAKE_BUCKETS:
        backends["lake"].create_bucket(Bucket=bucket)
    fs = fsspec.filesystem("botwo", config=cfg)
    assert isinstance(fs, BotwoFileSystem)
    return fs


@pytest.fixture
def recorded(fs: BotwoFileSystem, cfg: dict[str, Any]) -> tuple[BotwoFileSystem, Sent]:
    """A filesystem of its own (over a fresh botwo client) whose requests are recorded."""
    client = botwo.client("s3", config=cfg)
    own = BotwoFileSystem(client=client, skip_instance_cache=True)
    assert own is not fs
    return own, Sent(client.backends)


def seed(fs: BotwoFileSystem) -> dict[str, bytes]:
    """A small tree across the split; returns caller path -> bytes."""
    tree = {
        "data/top.txt": b"top",
        "data/dir/c.txt": b"c" * 10,
        "data/dir/deep/d.txt": b"d" * 20,
        "data/part/a.txt": b"a" * 30,
        "data/part/sub/b.txt": b"b" * 40,
        "data/partial.txt": b"not in part/",
        "old/x/y.txt": b"renamed",
    }
    fs.pipe(tree)
    return tree


# -- listing and metadata -------------------------------------------------------------------


def test_the_tree_lands_where_the_rules_say(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    seed(fs)
    assert objects(backends["s3"], "data") == {
        "top.txt": b"top",
        "dir/c.txt": b"c" * 10,
        "dir/deep/d.txt": b"d" * 20,
        "partial.txt": b"not in part/",
    }
    assert objects(backends["lake"], "lake-data") == {
        "main/part/a.txt": b"a" * 30,
        "main/part/sub/b.txt": b"b" * 40,
    }
    assert objects(backends["lake"], "new-repo") == {"main/x/y.txt": b"renamed"}


def test_ls_across_the_split(fs: BotwoFileSystem) -> None:
    seed(fs)
    listed = fs.ls("data")
    assert [(e["name"], e["type"]) for e in listed] == [
        ("data/dir", "directory"),
        ("data/part", "directory"),
        ("data/partial.txt", "file"),
        ("data/top.txt", "file"),
    ]
    assert fs.ls("botwo://data/part/", detail=False) == ["data/part/a.txt", "data/part/sub"]
    assert fs.ls("data/part/sub", detail=True)[0] | {"LastModified": None} == {
        "name": "data/part/sub/b.txt",
        "size": 40,
        "type": "file",
        "ETag": f'"{hashlib.md5(b"b" * 40).hexdigest()}"',
        "LastModified": None,
        "StorageClass": "STANDARD",
    }
    assert fs.ls("old", detail=False) == ["old/x"]
    assert fs.ls("data/top.txt", detail=False) == ["data/top.txt"]  # a file lists as itself
    with pytest.raises(FileNotFoundError):
        fs.ls("data/nothing")
    with pytest.raises(FileNotFoundError):
        fs.ls("no-such-bucket")
    assert fs.ls("media") == []  # an empty bucket


def test_ls_root_lists_the_callers_buckets(fs: BotwoFileSystem) -> None:
    names = fs.ls("", detail=False)
    assert {"data", "media", "old"} <= set(names)
    assert not set(names) & {"lake-data", "new-repo"}


def test_info_exists_isdir_isfile(fs: BotwoFileSystem) -> None:
    seed(fs)
    info = fs.info("data/part/a.txt")
    assert (info["name"], info["size"], info["type"]) == ("data/part/a.txt", 30, "file")
    assert info["ETag"] == f'"{hashlib.md5(b"a" * 30).hexdigest()}"'
    assert fs.info("data/part")["type"] == "directory"
    assert fs.info("data/part/")["name"] == "data/part"
    assert fs.info("data") == {"name": "data", "size": 0, "type": "directory", "StorageClass": "DIRECTORY"}
    assert fs.info("old/x/y.txt")["size"] == 7
    for path, kind in [
        ("data/top.txt", "file"),
        ("data/part/sub/b.txt", "file"),
        ("data/dir/deep", "dir"),
        ("data/part/sub", "dir"),
        ("data", "dir"),
        ("old/x", "dir"),
        ("data/part/a", None),  # a prefix of a key is no directory
        ("data/par", None),
        ("data/nope", None),
        ("nobucket/x", None),
    ]:
        assert fs.exists(path) is (kind is not None), path
        assert fs.isfile(path) is (kind == "file"), path
        assert fs.isdir(path) is (kind == "dir"), path
    with pytest.raises(FileNotFoundError):
        fs.info("data/part/nope")


def test_find_glob_du_walk(fs: BotwoFileSystem) -> None:
    tree = seed(fs)
    data = sorted(p for p in tree if p.startswith("data/"))
    assert fs.find("data") == data
    assert fs.find("botwo://data/part") == ["data/part/a.txt", "data/part/sub/b.txt"]
    assert fs.find("data/part/a.txt") == ["data/part/a.txt"]
    assert fs.find("data/nope") == []
    assert fs.find("data", withdirs=True) == sorted(
        [*data, "data/dir", "data/dir/deep", "data/part", "data/part/sub"]
    )
    assert fs.find("data", maxdepth=1) == ["data/partial.txt", "data/top.txt"]
    assert fs.find("data", prefix="par") == ["data/part/a.txt", "data/part/sub/b.txt", "data/partial.txt"]
    detail = fs.find("data/part", detail=True)
    assert {k: v["size"] for k, v in detail.items()} == {"data/part/a.txt": 30, "data/part/sub/b.txt": 40}
    assert fs.glob("data/**/*.txt") == data
    assert fs.glob("data/p*") == ["data/part", "data/partial.txt"]
    assert fs.glob("data/*/*.txt") == ["data/dir/c.txt", "data/part/a.txt"]
    assert fs.glob("data/part/s?b/*") == ["data/part/sub/b.txt"]
    assert fs.du("data") == sum(len(tree[p]) for p in data)
    assert fs.du("data/part", total=False) == {"data/part/a.txt": 30, "data/part/sub/b.txt": 40}
    walked = {root: (sorted(dirs), sorted(files)) for root, dirs, files in fs.walk("data")}
    assert walked["data"] == (["dir", "part"], ["partial.txt", "top.txt"])
    assert walked["data/part/sub"] == ([], ["b.txt"])
    assert fs.find("", withdirs=False) == sorted(tree)


# -- reading ------------------------------------------------------------------------------


def test_reading_with_ranges_seek_and_read_ahead(recorded: tuple[BotwoFileSystem, Sent]) -> None:
    fs, sent = recorded
    data = payload(MiB + 123)
    fs.pipe_file("data/part/blob", data)
    sent.clear()
    block = 64 * 1024
    with fs.open("data/part/blob", "rb", block_size=block) as f:
        assert isinstance(f, BotwoFile)
        assert f.size == len(data) and f.info()["size"] == len(data)
        assert f.read(10) == data[:10]
        assert f.read(100) == data[10:110]  # served by the read-ahead block
        gets = [r for r in sent.requests if r[1] == "GET"]
        assert len(gets) == 1 and all(r[0] == "lake" and "/lake-data/main/part/blob" in r[2] for r in gets)
        assert f.seek(500_000) == 500_000 and f.tell() == 500_000
        assert f.read(1000) == data[500_000:501_000]
        assert f.read(1000) == data[501_000:502_000]  # read ahead with the previous read
        f.seek(-50, 2)
        assert f.read() == data[-50:]
        assert f.read() == b""
        assert len([r for r in sent.requests if r[1] == "GET"]) == 3
        f.seek(100)
        f.seek(20, 1)
        assert f.read(5) == data[120:125]  # the read-ahead block is the last one only
        with pytest.raises(ValueError):
            f.seek(-1)
        assert len([r for r in sent.requests if r[1] == "GET"]) == 4
    with fs.open("data/part/blob", "rb") as f:  # default 5 MiB block: one GET for all
        assert f.read() == data
    text = "line one\nligne deux é\n日本語\n"
    fs.pipe_file("data/lines.txt", text.encode())
    with fs.open("data/lines.txt", "r", encoding="utf-8") as t:
        assert t.readlines() == ["line one\n", "ligne deux é\n", "日本語\n"]
    with fs.open("data/lines.txt", "rb") as f:
        assert list(f) == [line.encode() for line in text.splitlines(keepends=True)]


def test_a_scan_is_one_streamed_get(recorded: tuple[BotwoFileSystem, Sent]) -> None:
    fs, sent = recorded
    data = payload(12 * MiB + 7)
    fs.pipe_file("data/part/scan", data)

    def gets() -> int:
        return len([r for r in sent.requests if r[1] == "GET"])

    sent.clear()
    with fs.open("data/part/scan", "rb") as f:  # from the start, in small reads
        chunks = iter(lambda: f.read(256 * 1024), b"")
        assert b"".join(chunks) == data
    assert gets() == 1
    sent.clear()
    with fs.open("data/part/scan", "rb") as f:  # from the middle: a block, then the rest
        f.seek(6 * MiB)
        assert b"".join(iter(lambda: f.read(MiB), b"")) == data[6 * MiB :]
    assert gets() == 2
    sent.clear()
    with fs.open("data/part/scan", "rb") as f:  # within the first block: a scan
        f.seek(4)
        assert b"".join(iter(lambda: f.read(MiB), b"")) == data[4:]
    assert gets() == 1
    sent.clear()
    with fs.open("data/part/scan", "rb") as f:  # large reads are not kept in the cache
        f.seek(6 * MiB)
        assert f.read(5 * MiB) == data[6 * MiB : 11 * MiB]
        assert len(f.cache.cache) < f.blocksize
        assert f.read(10) == data[11 * MiB : 11 * MiB + 10]
    assert gets() == 2


def test_an_object_replaced_while_it_is_read_is_an_error(fs: BotwoFileSystem) -> None:
    fs.pipe_file("data/part/moving", payload(12 * MiB))
    with fs.open("data/part/moving", "rb", block_size=5 * MiB) as f:
        f.seek(6 * MiB)
        assert len(f.read(10)) == 10  # a ranged GET of one block
        fs.pipe_file("data/part/moving", b"something else entirely" * 1000)
        f.seek(MiB)
        with pytest.raises(OSError, match="replaced while it was being read"):
            f.read(10)  # the next GET asks for the same ETag: never a mix of two objects


@pytest.mark.parametrize("side", ["data/plain", "data/part/split", "old/renamed"])
@pytest.mark.parametrize(
    ("start", "end"),
    [
        (None, None),
        (2, 5),
        (2, None),
        (None, 3),
        (-3, None),
        (-5, -2),
        (0, -1),
        (8, 100),
        (10, None),
        (20, 30),
        (5, 5),
        (6, 2),
        (-100, 2),
        (-2, -5),
    ],
)
def test_cat_file_ranges_as_a_local_file(
    fs: BotwoFileSystem, tmp_path: Path, side: str, start: int | None, end: int | None
) -> None:
    data = b"0123456789"
    fs.pipe_file(side, data)
    local = tmp_path / "ten"
    local.write_bytes(data)
    assert fs.cat_file(side, start=start, end=end) == data[start:end]
    if len(data[start:end]) or (start or 0) % 10 <= (end if end is not None else 10) % 10:
        # fsspec's local files agree (they raise for an end before the start).
        assert LocalFileSystem().cat_file(str(local), start=start, end=end) == data[start:end]


def test_cat_and_pipe_many(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    fs.pipe({"data/one": b"1", "data/part/two": b"22", "old/three": b"333"})
    assert fs.cat(["data/one", "data/part/two", "old/three"]) == {
        "data/one": b"1",
        "data/part/two": b"22",
        "old/three": b"333",
    }
    assert fs.cat("data/part/two") == b"22"
    assert fs.cat("data/part/*") == {"data/part/two": b"22"}
    got = fs.cat(["data/one", "data/missing"], on_error="return")
    assert got["data/one"] == b"1" and isinstance(got["data/missing"], FileNotFoundError)
    assert fs.head("old/three", 2) == b"33" and fs.tail("old/three", 1) == b"3"
    assert objects(backends["lake"], "new-repo") == {"main/three": b"333"}


def test_pipe_file_create_mode(fs: BotwoFileSystem) -> None:
    fs.pipe_file("data/part/once", b"first", mode="create")
    with pytest.raises(FileExistsError):
        fs.pipe_file("data/part/once", b"second", mode="create")
    with pytest.raises(FileExistsError):
        fs.open("data/part/once", "xb")
    with pytest.raises(FileExistsError):
        fs.open("data/part/once", "x")
    gc.collect()  # the refused file, collected, must not write (an empty object, here)
    assert fs.cat("data/part/once") == b"first"


def test_a_refused_open_writes_nothing(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="5 MiB"):
        fs.open("data/part/tiny-blocks", "wb", block_size=1024)
    with pytest.raises(LookupError):
        fs.open("data/part/bad-encoding", "w", encoding="no-such-encoding")
    fs.pipe_file("data/part/dir/x", b"x")
    with pytest.raises(IsADirectoryError):
        fs.open("data/part/dir", "ab")
    gc.collect()
    assert objects(backends["lake"], "lake-data") == {"main/part/dir/x": b"x"}


def test_pipe_large_is_a_multipart_upload(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    data = payload(11 * MiB)
    fs.pipe_file("data/part/big", data, ContentType="application/x-test")
    head = backends["lake"].head_object(Bucket="lake-data", Key="main/part/big")
    assert head["ETag"].endswith('-3"') and head["ContentType"] == "application/x-test"
    assert fs.cat("data/part/big") == data
    assert uploads(backends["lake"], "lake-data") == []


# -- writing ------------------------------------------------------------------------------


def test_a_small_write_is_one_put(recorded: tuple[BotwoFileSystem, Sent], backends: dict[str, Any]) -> None:
    fs, sent = recorded
    with fs.open("data/part/small", "wb", ContentType="text/plain", Metadata={"k": "v"}) as f:
        f.write(b"small ")
        f.write(b"write")
    assert [(c, m) for c, m, _ in sent.requests] == [("lake", "PUT")]
    assert sent.requests[0][2].endswith("/lake-data/main/part/small")
    head = backends["lake"].head_object(Bucket="lake-data", Key="main/part/small")
    assert head["ContentType"] == "text/plain" and head["Metadata"] == {"k": "v"}
    assert objects(backends["lake"], "lake-data") == {"main/part/small": b"small write"}
    with fs.open("data/text.txt", "w", encoding="utf-8") as t:
        t.write("é日\n")
    assert objects(backends["s3"], "data") == {"text.txt": "é日\n".encode()}


def test_a_large_write_is_a_multipart_upload(
    recorded: tuple[BotwoFileSystem, Sent], backends: dict[str, Any]
) -> None:
    fs, sent = recorded
    data = payload(12 * MiB + 1)
    with fs.open("data/part/large", "wb") as f:
        for i in range(0, len(data), MiB):
            f.write(data[i : i + MiB])
        assert uploads(backends["lake"], "lake-data") == ["main/part/large"]
    assert backends["lake"].get_object(Bucket="lake-data", Key="main/part/large")["Body"].read() == data
    assert backends["lake"].head_object(Bucket="lake-data", Key="main/part/large")["ETag"].endswith('-3"')
    parts = [u for c, m, u in sent.requests if m == "PUT" and "partNumber=" in u]
    assert len(parts) == 3 and {c for c, _, _ in sent.requests} == {"lake"}
    assert uploads(backends["lake"], "lake-data") == []
    assert objects(backends["s3"], "data") == {}


@pytest.mark.parametrize("mode", ["wb", "w"])
@pytest.mark.parametrize("size", [100, 11 * MiB])
def test_a_write_abandoned_by_an_exception_leaves_nothing(
    fs: BotwoFileSystem, backends: dict[str, Any], mode: str, size: int
) -> None:
    data: Any = payload(size) if mode == "wb" else "é" * (size // 2)
    with pytest.raises(RuntimeError, match="abandoned"), fs.open("data/part/abandoned", mode) as f:
        f.write(data)
        if size > 5 * MiB:  # parts were sent: there is an upload to abort
            assert uploads(backends["lake"], "lake-data") == ["main/part/abandoned"]
        raise RuntimeError("abandoned")
    assert f.closed
    assert objects(backends["lake"], "lake-data") == {}
    assert uploads(backends["lake"], "lake-data") == []
    assert not fs.exists("data/part/abandoned")


@pytest.mark.parametrize("mode", ["wb", "w", "ab", "a"])
@pytest.mark.parametrize("old", [None, b"old bytes"], ids=["missing", "existing"])
@pytest.mark.parametrize("size", [100, 6 * MiB])
def test_fsspec_open_abandoned_by_an_exception_writes_nothing(
    fs: BotwoFileSystem,
    backends: dict[str, Any],
    cfg: dict[str, Any],
    mode: str,
    old: bytes | None,
    size: int,
) -> None:
    """fsspec's ``OpenFile`` closes the file without the exception: it is discarded all the
    same, an old object left as it was and no upload left behind."""
    if old is not None:
        fs.pipe_file("data/part/opened", old)
    data: Any = payload(size) if "b" in mode else "é" * (size // 2)
    opened = fsspec.open("botwo://data/part/opened", mode, config=cfg)
    with pytest.raises(RuntimeError, match="abandoned"), opened as f:
        f.write(data)
        if size > 5 * MiB:  # parts were sent: there is an upload to abort
            assert uploads(backends["lake"], "lake-data") == ["main/part/opened"]
        raise RuntimeError("abandoned")
    expected = {} if old is None else {"main/part/opened": old}
    assert objects(backends["lake"], "lake-data") == expected
    assert uploads(backends["lake"], "lake-data") == []


def test_a_failing_pandas_write_leaves_the_old_object(fs: BotwoFileSystem, cfg: dict[str, Any]) -> None:
    class Unwritable:
        def __str__(self) -> str:
            raise RuntimeError("cannot be written")

    fs.pipe_file("data/part/frame.csv", b"a\n1\n")
    frame = pd.DataFrame({"a": [*range(100_000), Unwritable()]})  # fails once a chunk is written
    with pytest.raises(RuntimeError, match="cannot be written"):
        frame.to_csv("botwo://data/part/frame.csv", index=False, storage_options={"config": cfg})
    assert fs.cat("data/part/frame.csv") == b"a\n1\n"


def test_a_file_written_while_an_exception_is_handled_is_committed(
    fs: BotwoFileSystem, cfg: dict[str, Any]
) -> None:
    try:
        raise RuntimeError("handled")
    except RuntimeError:
        with fsspec.open("botwo://data/part/report", "wb", config=cfg) as f:
            f.write(b"what went wrong")
        with fs.open("data/report.txt", "w") as t:
            t.write("text")
    assert fs.cat(["data/part/report", "data/report.txt"]) == {
        "data/part/report": b"what went wrong",
        "data/report.txt": b"text",
    }


def test_a_failing_upload_leaves_nothing_even_when_closed(
    recorded: tuple[BotwoFileSystem, Sent], backends: dict[str, Any]
) -> None:
    """Part 2 fails (its upload was aborted behind our back): the write raises, and the
    ``close()`` of a ``finally`` does not PUT what was left in the buffer."""
    fs, _ = recorded
    lake = fs.client.backends["lake"]

    def pull_the_upload(params: dict[str, Any], **_: Any) -> None:
        if params.get("PartNumber") == 2:
            backends["lake"].abort_multipart_upload(
                Bucket=params["Bucket"], Key=params["Key"], UploadId=params["UploadId"]
            )

    lake.meta.events.register("before-parameter-build.s3.UploadPart", pull_the_upload)
    data = payload(12 * MiB)
    f = fs.open("data/part/failing", "wb")
    try:
        with pytest.raises(OSError):
            for i in range(0, len(data), MiB):
                f.write(data[i : i + MiB])
    finally:
        f.close()
    assert f.closed
    assert objects(backends["lake"], "lake-data") == {}
    assert uploads(backends["lake"], "lake-data") == []


def test_a_refused_upload_leaves_nothing(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    """A write into a bucket that does not exist fails at the first part, and at close."""
    with pytest.raises(FileNotFoundError, match="nobucket/big"), fs.open("nobucket/big", "wb") as f:
        f.write(payload(6 * MiB))
    with pytest.raises(FileNotFoundError, match="nobucket/small"), fs.open("nobucket/small", "wb") as f:
        f.write(b"small")
    assert "nobucket" not in [b["Name"] for b in backends["s3"].list_buckets()["Buckets"]]


def test_an_unreachable_backend_does_not_hide_the_callers_error() -> None:
    """The body of the ``with`` fails and the backend is gone: the upload cannot be
    aborted, and the caller gets its own error (not a connection error), nothing more
    is sent, and the file is closed."""
    with LocalS3Server("doomed") as doomed:
        doomed.client().create_bucket(Bucket="gone")
        table = doomed.client_config(
            config={"s3": {"addressing_style": "path"}, "retries": {"total_max_attempts": 1}}
        )
        fs = BotwoFileSystem(
            config={"clients": {"doomed": table}, "mapping": [{"bucket_name": "*", "client": "doomed"}]},
            skip_instance_cache=True,
        )
        sent = Sent(fs.client.backends)
        with pytest.raises(RuntimeError, match="the caller's error"), fs.open("gone/big", "wb") as f:
            f.write(payload(6 * MiB))
            assert [m for _, m, _ in sent.requests] == ["POST", "PUT"]  # the upload, part 1
            doomed.stop()
            raise RuntimeError("the caller's error")
        assert f.closed
        sent.clear()
        f.close()
        del f
        gc.collect()
        assert [m for _, m, _ in sent.requests] == []


def test_a_directory_is_not_opened_for_reading(fs: BotwoFileSystem) -> None:
    fs.pipe_file("data/part/dir/f", b"f")
    with pytest.raises(IsADirectoryError):
        fs.open("data/part/dir", "rb")
    with pytest.raises(IsADirectoryError):
        fs.open("data/part/dir", "r")
    with pytest.raises(ValueError, match="bucket"):
        fs.open("data", "rb")


def test_a_failed_completion_leaves_no_upload(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    f = fs.open("data/part/incomplete", "wb", autocommit=False)
    f.write(payload(6 * MiB))
    f.close()
    assert uploads(backends["lake"], "lake-data") == ["main/part/incomplete"]
    f.parts[0]["ETag"] = '"00000000000000000000000000000000"'  # the backend refuses the completion
    with pytest.raises(OSError):
        f.commit()
    assert uploads(backends["lake"], "lake-data") == []
    assert not fs.exists("data/part/incomplete")


def test_part_sizes_grow_linearly_to_s3s_limits() -> None:
    block = 5 * MiB
    assert [part_size(block, n) for n in (1, 1000, 1001, 2000, 2001, 9001, 10_000)] == [
        block,
        block,
        2 * block,
        2 * block,
        3 * block,
        10 * block,
        10 * block,
    ]
    assert sum(part_size(block, n) for n in range(1, 10_001)) == 55_000 * block  # about 268 GiB
    assert part_size(1024 * MiB, 10_000) == 5 * 1024 * MiB  # S3's largest part


def test_transaction_commits_at_the_end(
    fs: BotwoFileSystem, backends: dict[str, Any], tmp_path: Path
) -> None:
    big = payload(11 * MiB)
    local = tmp_path / "local.bin"
    local.write_bytes(b"put in a transaction")
    with fs.transaction:
        with fs.open("data/part/t-big", "wb") as f:
            f.write(big)
        with fs.open("data/t-small", "wb") as f:
            f.write(b"small")
        with fs.open("old/t-text", "w") as t:
            t.write("text")
        fs.pipe_file("data/part/t-piped", b"piped")
        fs.put_file(str(local), "data/t-put")
        for path in ("data/part/t-big", "data/t-small", "old/t-text", "data/part/t-piped", "data/t-put"):
            assert not fs.exists(path), path
        assert objects(backends["lake"], "lake-data") == {} and objects(backends["s3"], "data") == {}
        assert uploads(backends["lake"], "lake-data") == ["main/part/t-big"]
    assert fs.cat("data/part/t-big") == big
    assert fs.cat(["data/t-small", "old/t-text", "data/part/t-piped", "data/t-put"]) == {
        "data/t-small": b"small",
        "old/t-text": b"text",
        "data/part/t-piped": b"piped",
        "data/t-put": b"put in a transaction",
    }
    assert uploads(backends["lake"], "lake-data") == []
    assert not fs._intrans


def test_transaction_commits_files_left_open_whole(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    """Files written in a transaction and never closed are committed whole (not the small
    one dropped, not the large one completed without its unsent tail)."""
    big = payload(6 * MiB + 7)
    with fs.transaction:
        small_file = fs.open("data/open-small", "wb")
        small_file.write(b"never closed")
        big_file = fs.open("data/part/open-big", "wb")
        big_file.write(big)
        assert uploads(backends["lake"], "lake-data") == ["main/part/open-big"]  # part 1 is sent
    assert small_file.closed and big_file.closed
    assert objects(backends["s3"], "data") == {"open-small": b"never closed"}
    assert backends["lake"].get_object(Bucket="lake-data", Key="main/part/open-big")["Body"].read() == big
    with pytest.raises(RuntimeError), fs.transaction:
        left = fs.open("data/part/open-discarded", "wb")
        left.write(big)
        raise RuntimeError("discarded")
    assert left.closed
    with pytest.raises(ValueError):
        left.write(b"more")  # a discarded file takes nothing more
    del left
    gc.collect()
    assert not fs.exists("data/part/open-discarded") and uploads(backends["lake"], "lake-data") == []


def test_transaction_discards_on_an_exception(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    with pytest.raises(RuntimeError, match="rolled back"), fs.transaction:
        with fs.open("data/part/t-big", "wb") as f:
            f.write(payload(11 * MiB))
        with fs.open("data/t-small", "wb") as f:
            f.write(b"small")
        fs.pipe_file("data/t-piped", b"piped")
        raise RuntimeError("rolled back")
    assert objects(backends["lake"], "lake-data") == {} and objects(backends["s3"], "data") == {}
    assert uploads(backends["lake"], "lake-data") == []
    fs.pipe_file("data/after", b"not deferred")  # the transaction is over
    assert objects(backends["s3"], "data") == {"after": b"not deferred"}


def test_autocommit_false_commit_and_discard(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    data = payload(6 * MiB)
    f = fs.open("data/part/later", "wb", autocommit=False)
    f.write(data)
    f.close()
    assert not fs.exists("data/part/later") and uploads(backends["lake"], "lake-data") == ["main/part/later"]
    f.commit()
    assert fs.cat("data/part/later") == data
    g = fs.open("data/never", "wb", autocommit=False)
    g.write(b"never")
    g.close()
    g.discard()
    h = fs.open("data/part/never-big", "wb", autocommit=False)
    h.write(data)
    h.close()
    h.discard()
    assert not fs.exists("data/never") and not fs.exists("data/part/never-big")
    assert uploads(backends["lake"], "lake-data") == []


def test_untruncated_touch_is_refused(fs: BotwoFileSystem) -> None:
    fs.touch("data/part/empty")
    assert fs.cat("data/part/empty") == b"" and fs.info("data/part/empty")["size"] == 0
    with pytest.raises(ValueError, match="truncat"):
        fs.touch("data/part/empty", truncate=False)


@pytest.mark.parametrize("existing", [0, 100, 6 * MiB], ids=["missing", "small", "large"])
def test_append_rewrites_the_object_with_its_bytes_first(
    recorded: tuple[BotwoFileSystem, Sent], backends: dict[str, Any], existing: int
) -> None:
    fs, sent = recorded
    before = payload(existing, seed="before")
    if existing:
        fs.pipe_file("data/part/log", before)
    sent.clear()
    with fs.open("data/part/log", "ab") as f:
        assert f.tell() == existing
        f.write(b"appended\n")
    written = list(sent.requests)
    assert fs.cat("data/part/log") == before + b"appended\n"
    assert objects(backends["lake"], "lake-data")["main/part/log"] == before + b"appended\n"
    gets = [r for r in written if r[1] == "GET" and "list-type" not in r[2]]
    parts = [r for r in written if r[1] == "PUT" and "partNumber" in r[2]]
    if existing >= 5 * MiB:  # the old bytes are copied on the backend, not through here
        assert (len(gets), len(parts)) == (0, 2)
    else:
        assert (len(gets), len(parts)) == (1 if existing else 0, 0)
    assert backends["lake"].list_multipart_uploads(Bucket="lake-data").get("Uploads") is None


@pytest.mark.parametrize("mode", ["ab", "a", "at"])
def test_an_append_abandoned_by_an_exception_keeps_the_object(
    fs: BotwoFileSystem, backends: dict[str, Any], mode: str
) -> None:
    before = payload(6 * MiB, seed="kept")
    fs.pipe_file("data/part/kept", before)
    with pytest.raises(RuntimeError), fs.open("data/part/kept", mode) as f:
        f.write(b"half" if "b" in mode else "half")
        raise RuntimeError("boom")
    assert fs.cat("data/part/kept") == before
    assert backends["lake"].list_multipart_uploads(Bucket="lake-data").get("Uploads") is None


def test_put_file_and_get_file(fs: BotwoFileSystem, backends: dict[str, Any], tmp_path: Path) -> None:
    data = payload(9 * MiB)
    (tmp_path / "up.bin").write_bytes(data)
    sizes: list[int] = []

    class Progress(fsspec.callbacks.Callback):
        def relative_update(self, inc: int = 1) -> None:
            sizes.append(inc)
            super().relative_update(inc)

    fs.put_file(str(tmp_path / "up.bin"), "data/part/up.bin", callback=Progress())
    assert sum(sizes) == len(data)
    assert backends["lake"].get_object(Bucket="lake-data", Key="main/part/up.bin")["Body"].read() == data
    fs.get_file("data/part/up.bin", str(tmp_path / "down.bin"))
    assert (tmp_path / "down.bin").read_bytes() == data
    with pytest.raises(FileExistsError):
        fs.put_file(str(tmp_path / "up.bin"), "data/part/up.bin", mode="create")


# -- deleting, copying, directories -------------------------------------------------------


def test_rm_many_keys_is_one_bulk_delete_per_batch(
    recorded: tuple[BotwoFileSystem, Sent], backends: dict[str, Any]
) -> None:
    fs, sent = recorded
    s3_keys = [f"many/{i:04d} +%é" for i in range(500)]
    lake_keys = [f"part/many/{i:04d}" for i in range(501)]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: backends["s3"].put_object(Bucket="data", Key=k, Body=b"s"), s3_keys))
        list(
            pool.map(
                lambda k: backends["lake"].put_object(Bucket="lake-data", Key=f"main/{k}", Body=b"l"),
                lake_keys,
            )
        )
    paths = [f"data/{k}" for k in s3_keys + lake_keys]
    assert len(fs.find("data")) == 1001
    sent.clear()
    fs.rm(paths)
    # 1,000 keys in the first batch (on both servers: one request each), 1 in the second.
    assert sorted((c, m) for c, m, _ in sent.requests) == [("lake", "POST"), ("lake", "POST"), ("s3", "POST")]
    assert all("?delete" in u for _, _, u in sent.requests)
    assert objects(backends["s3"], "data") == {} and objects(backends["lake"], "lake-data") == {}


def test_rm_recursive_across_backends(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    seed(fs)
    fs.rm("data/part", recursive=True)
    assert objects(backends["lake"], "lake-data") == {}
    assert sorted(objects(backends["s3"], "data")) == [
        "dir/c.txt",
        "dir/deep/d.txt",
        "partial.txt",
        "top.txt",
    ]
    fs.rm(["data/dir/deep/d.txt", "data/top.txt"])
    fs.rm("data/nope")  # a missing key: deleted as S3 deletes it, quietly
    with pytest.raises(FileNotFoundError):
        fs.rm("data/nope*")  # a glob that matches nothing
    fs.rm("data/*.txt")  # partial.txt; data/dir is no match without recursive
    assert objects(backends["s3"], "data") == {"dir/c.txt": b"c" * 10}
    fs.rm_file("data/dir/c.txt")
    assert objects(backends["s3"], "data") == {}
    fs.pipe_file("old/x/y", b"y")
    fs.rm("old", recursive=True)  # a bucket with everything in it
    assert "new-repo" not in [b["Name"] for b in backends["lake"].list_buckets()["Buckets"]]


def test_mv_across_backends(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    fs.pipe({"data/move/a": b"a", "data/move/b/c": b"c"})
    fs.mv("data/move", "data/part/moved", recursive=True)
    assert objects(backends["s3"], "data") == {}
    assert objects(backends["lake"], "lake-data") == {"main/part/moved/a": b"a", "main/part/moved/b/c": b"c"}


@pytest.mark.parametrize(
    ("source", "target", "server", "bucket", "key"),
    [
        ("data/src.bin", "data/part/dst.bin", "lake", "lake-data", "main/part/dst.bin"),
        ("data/part/src.bin", "data/dst.bin", "s3", "data", "dst.bin"),
        ("data/part/src.bin", "old/dst.bin", "lake", "new-repo", "main/dst.bin"),
        ("data/src.bin", "data/same.bin", "s3", "data", "same.bin"),
    ],
)
def test_cp_file_lands_on_the_targets_backend(
    fs: BotwoFileSystem,
    backends: dict[str, Any],
    source: str,
    target: str,
    server: str,
    bucket: str,
    key: str,
) -> None:
    data = payload(7 * MiB, seed=source)
    fs.pipe_file(source, data)
    fs.cp_file(source, target)
    assert backends[server].get_object(Bucket=bucket, Key=key)["Body"].read() == data
    assert fs.cat(target) == fs.cat(source) == data
    assert fs.info(target)["size"] == len(data)
    assert uploads(backends["lake"], "lake-data") == [] and uploads(backends["s3"], "data") == []


def test_cp_of_a_missing_source_names_it(fs: BotwoFileSystem) -> None:
    with pytest.raises(FileNotFoundError) as caught:
        fs.cp_file("data/part/ghost", "data/copy")
    assert caught.value.filename == "data/part/ghost"
    assert not any(name in str(caught.value) for name in TARGET_NAMES)
    assert not fs.exists("data/copy")


def test_mkdir_makedirs_rmdir_are_about_buckets(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    def buckets(server: str) -> set[str]:
        return {b["Name"] for b in backends[server].list_buckets()["Buckets"]}

    fs.mkdir("fresh")
    assert "fresh" in buckets("s3") and "fresh" in fs.ls("", detail=False)
    backends["lake"].delete_bucket(Bucket="new-repo")
    assert not fs.exists("old")
    fs.mkdir("old")  # the renamed bucket is created on its own server
    assert "new-repo" in buckets("lake") and "old" not in buckets("s3")
    with pytest.raises(FileExistsError):
        fs.makedirs("old")
    fs.makedirs("old", exist_ok=True)
    fs.makedirs("old/a/b", exist_ok=True)
    fs.mkdir("data/x/y")  # a "directory" is nothing to create
    fs.makedirs("brand-new/a/b")  # but its bucket is
    assert "brand-new" in buckets("s3")
    assert objects(backends["s3"], "data") == {} and objects(backends["lake"], "new-repo") == {}
    fs.pipe_file("data/part/full/f", b"f")
    with pytest.raises(OSError) as caught:
        fs.rmdir("data/part/full")
    assert caught.value.errno == errno.ENOTEMPTY
    fs.rmdir("data/part/empty")  # nothing there: nothing to do
    # The caller's bucket is not empty, although its own route's bucket (s3's) is.
    assert objects(backends["s3"], "data") == {}
    with pytest.raises(OSError) as caught:
        fs.rmdir("data")
    assert caught.value.errno == errno.ENOTEMPTY and "data" in buckets("s3")
    fs.pipe_file("data/top", b"t")
    with pytest.raises(OSError) as caught:
        fs.rmdir("data")
    assert caught.value.errno == errno.ENOTEMPTY
    fs.rmdir("fresh")
    assert "fresh" not in buckets("s3")
    with pytest.raises(FileNotFoundError):
        fs.rmdir("fresh")


def test_checksum_and_ukey_change_with_the_object(fs: BotwoFileSystem) -> None:
    fs.pipe_file("data/part/c", b"one")
    first = (fs.checksum("data/part/c"), fs.ukey("data/part/c"))
    assert first == (fs.checksum("data/part/c"), fs.ukey("data/part/c"))
    fs.pipe_file("data/part/c", b"two")
    second = (fs.checksum("data/part/c"), fs.ukey("data/part/c"))
    assert second[0] != first[0] and second[1] != first[1]
    assert fs.modified("data/part/c") == fs.info("data/part/c")["LastModified"]
    with pytest.raises(IsADirectoryError):
        fs.ukey("data/part")


def test_versions_on_a_versioned_bucket(
    fs: BotwoFileSystem, cfg: dict[str, Any], backends: dict[str, Any]
) -> None:
    fs.client.create_bucket(Bucket="vers")
    fs.client.put_bucket_versioning(Bucket="vers", VersioningConfiguration={"Status": "Enabled"})
    vfs = fsspec.filesystem("botwo", config=cfg, version_aware=True)
    assert vfs is not fs and vfs.version_aware
    for body in (b"one", b"two!", b"three"):
        vfs.pipe_file("vers/k", body)
    versions = vfs.object_versions("vers/k")
    assert [v["size"] for v in versions] == [5, 4, 3]
    newest, middle, oldest = (v["VersionId"] for v in versions)
    old = f"vers/k?versionId={oldest}"
    assert vfs.cat_file(old) == b"one" and vfs.cat(old) == b"one"
    assert vfs.cat_file(old, start=1) == b"ne"
    with vfs.open(old) as f:
        assert f.read() == b"one"
    assert vfs.info(old)["VersionId"] == oldest and vfs.info(old)["size"] == 3
    assert vfs.ukey(old) != vfs.ukey("vers/k") and vfs.info("vers/k")["VersionId"] == newest
    assert urllib.request.urlopen(vfs.sign(old)).read() == b"one"
    vfs.cp_file(old, "data/part/restored")
    assert fs.cat("data/part/restored") == b"one"
    vfs.rm(f"vers/k?versionId={middle}")  # that version only, no delete marker
    listed = backends["s3"].list_object_versions(Bucket="vers")
    assert [v["VersionId"] for v in listed["Versions"]] == [newest, oldest] and "DeleteMarkers" not in listed
    assert vfs.cat("vers/k") == b"three"
    with pytest.raises(FileNotFoundError):
        vfs.cat_file(f"vers/k?versionId={middle}")
    # A recursive rm deletes the objects, not the "directories" (no delete markers for them).
    vfs.pipe_file("vers/d/e/f", b"f")
    vfs.rm("vers/d", recursive=True)
    markers = backends["s3"].list_object_versions(Bucket="vers", Prefix="d").get("DeleteMarkers", [])
    assert [m["Key"] for m in markers] == ["d/e/f"]
    assert not vfs.exists("vers/d")


# -- routes: read-only, fallback, missing keys ------------------------------------------------


def test_read_only_routes_refuse_every_write(
    fs: BotwoFileSystem, backends: dict[str, Any], tmp_path: Path
) -> None:
    backends["lake"].put_object(Bucket="ref-data", Key="ref/table.csv", Body=b"a,b\n1,2\n")
    fs.pipe_file("data/kept", b"kept")
    before = (objects(backends["lake"], "ref-data"), objects(backends["s3"], "data"))
    assert fs.cat("data/ref/table.csv") == b"a,b\n1,2\n"  # reads work
    assert fs.ls("data/ref", detail=False) == ["data/ref/table.csv"]
    local = tmp_path / "f"
    local.write_bytes(b"x")
    attempts: list[Callable[[], Any]] = [
        lambda: fs.pipe_file("data/ref/new", b"x"),
        lambda: fs.pipe_file("data/ref/new", payload(6 * MiB)),
        lambda: fs.touch("data/ref/new"),
        lambda: fs.rm("data/ref/table.csv"),
        lambda: fs.rm_file("data/ref/table.csv"),
        lambda: fs.rm(["data/kept", "data/ref/table.csv"]),  # refused whole: data/kept stays too
        lambda: fs.rm("data", recursive=True),
        lambda: fs.cp_file("data/kept", "data/ref/copy"),
        lambda: fs.put_file(str(local), "data/ref/put"),
    ]
    for attempt in attempts:
        with pytest.raises(PermissionError):
            attempt()
    with pytest.raises(PermissionError), fs.open("data/ref/small", "wb") as f:
        f.write(b"small")  # refused at close
    with pytest.raises(PermissionError), fs.open("data/ref/big", "wb") as f:
        f.write(payload(6 * MiB))  # refused at the first part
    assert (objects(backends["lake"], "ref-data"), objects(backends["s3"], "data")) == before
    assert uploads(backends["lake"], "ref-data") == []


def test_moving_out_of_a_read_only_route_is_refused_before_anything_is_copied(
    fs: BotwoFileSystem, backends: dict[str, Any]
) -> None:
    """A move is a copy and a delete; the delete would be refused, so nothing is copied."""
    backends["lake"].put_object(Bucket="ref-data", Key="ref/table.csv", Body=b"a,b\n")
    fs.pipe_file("data/kept", b"kept")
    before = (objects(backends["lake"], "ref-data"), objects(backends["s3"], "data"))
    for attempt in (
        lambda: fs.mv("data/ref/table.csv", "data/moved.csv"),
        lambda: fs.mv("data/ref", "data/moved", recursive=True),
        lambda: fs.mv(["data/kept", "data/ref/table.csv"], "data/moved/"),
    ):
        with pytest.raises(PermissionError, match=r"data/ref/table.csv: read-only \(rule \d+"):
            attempt()
    assert (objects(backends["lake"], "ref-data"), objects(backends["s3"], "data")) == before
    fs.mv("data/kept", "data/moved")  # a move that touches no read-only route still works
    assert fs.cat("data/moved") == b"kept" and not fs.exists("data/kept")


@pytest.mark.parametrize("path", ["data/part/nope", "old/nope", "data/nope", "media/nope", "data/ref/nope"])
def test_a_missing_key_is_named_as_the_caller_names_it(fs: BotwoFileSystem, path: str) -> None:
    for attempt in (
        lambda: fs.cat_file(path),
        lambda: fs.cat_file(path, start=2, end=4),
        lambda: fs.open(path, "rb"),
        lambda: fs.info(path),
        lambda: fs.cat(path),
        lambda: fs.cp_file(path, "data/copy"),
        lambda: fs.ls(path),
    ):
        with pytest.raises(FileNotFoundError) as caught:
            attempt()
        assert caught.value.filename == path or caught.value.args[0] == [path]
        message = str(caught.value)
        assert path in message and not any(name in message for name in TARGET_NAMES), message


def test_fallback_reads(fs: BotwoFileSystem, backends: dict[str, Any], tmp_path: Path) -> None:
    """media: the lake first, s3 for what the lake does not have; writes go to the lake."""
    backends["s3"].put_object(Bucket="media", Key="old/pic.jpg", Body=b"from s3")
    backends["s3"].put_object(Bucket="media", Key="both", Body=b"stale s3 copy")
    backends["lake"].put_object(Bucket="media", Key="both", Body=b"lake copy")
    assert fs.cat("media/old/pic.jpg") == b"from s3"
    assert fs.cat_file("media/old/pic.jpg", start=-2) == b"s3"
    with fs.open("media/old/pic.jpg") as f:
        assert f.read() == b"from s3"
    assert fs.cat("media/both") == b"lake copy"
    assert fs.info("media/old/pic.jpg")["size"] == 7 and fs.isfile("media/old/pic.jpg")
    assert fs.find("media") == ["media/both", "media/old/pic.jpg"]
    fs.get_file("media/old/pic.jpg", str(tmp_path / "pic"))
    assert (tmp_path / "pic").read_bytes() == b"from s3"
    assert urllib.request.urlopen(fs.sign("media/old/pic.jpg")).read() == b"from s3"
    fs.pipe_file("media/new", b"new")
    assert objects(backends["lake"], "media") == {"both": b"lake copy", "new": b"new"}
    assert "new" not in objects(backends["s3"], "media")


@pytest.mark.parametrize("path", ["data/part/signed", "data/signed", "old/signed +%é"])
def test_sign_gives_a_url_that_fetches_the_bytes(fs: BotwoFileSystem, path: str) -> None:
    fs.pipe_file(path, b"signed bytes")
    url = fs.sign(path, expiration=60)
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"signed bytes"


# -- errors ---------------------------------------------------------------------------------


def _client_error(code: str, status: int = 400) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": "m"}, "ResponseMetadata": {"HTTPStatusCode": status}}, "GetObject"
    )


@pytest.mark.parametrize(
    ("code", "kind", "number"),
    [
        ("NoSuchKey", FileNotFoundError, errno.ENOENT),
        ("NoSuchBucket", FileNotFoundError, errno.ENOENT),
        ("404", FileNotFoundError, errno.ENOENT),
        ("NotFound", FileNotFoundError, errno.ENOENT),
        ("NoSuchVersion", FileNotFoundError, errno.ENOENT),
        ("NoSuchUpload", FileNotFoundError, errno.ENOENT),
        ("AccessDenied", PermissionError, errno.EACCES),
        ("403", PermissionError, errno.EACCES),
        ("InvalidAccessKeyId", PermissionError, errno.EACCES),
        ("SignatureDoesNotMatch", PermissionError, errno.EACCES),
        ("BucketAlreadyExists", FileExistsError, errno.EEXIST),
        ("BucketAlreadyOwnedByYou", FileExistsError, errno.EEXIST),
        ("PreconditionFailed", FileExistsError, errno.EEXIST),
        ("BucketNotEmpty", OSError, errno.ENOTEMPTY),
        ("SlowDown", OSError, errno.EIO),
        ("InternalError", OSError, errno.EIO),
    ],
)
def test_os_error_maps_s3_codes(code: str, kind: type[OSError], number: int) -> None:
    cause = _client_error(code)
    error = os_error(cause, "bucket/key")
    assert type(error) is kind
    assert isinstance(error, OSError) and error.errno == number and error.filename == "bucket/key"
    assert str(error) == f"[Errno {number}] {cause}: 'bucket/key'"  # the path once


@pytest.mark.parametrize("code", ["InvalidRange", "InvalidArgument", "InvalidBucketName", "KeyTooLongError"])
def test_os_error_maps_invalid_requests_to_value_error(code: str) -> None:
    error = os_error(_client_error(code), "bucket/key")
    assert type(error) is ValueError and "bucket/key" in str(error)


def test_os_error_of_a_read_only_refusal(fs: BotwoFileSystem) -> None:
    with pytest.raises(botwo.ReadOnlyError) as caught:
        fs.client.put_object(Bucket="data", Key="ref/x", Body=b"x")
    error = os_error(caught.value, "data/ref/x")
    assert type(error) is PermissionError and error.filename == "data/ref/x"


# -- identity, serialization, pickling -----------------------------------------------------


def test_equal_configurations_share_an_instance(
    cfg: dict[str, Any], servers: dict[str, LocalS3Server]
) -> None:
    first = fsspec.filesystem("botwo", config=cfg)
    assert fsspec.filesystem("botwo", config=copy.deepcopy(cfg)) is first
    assert fsspec.filesystem("botwo", config=botwo.load_config(cfg)) is first
    assert fsspec.filesystem("botwo", config=cfg, version_aware=True) is not first
    os.environ["FS_LAKE_SECRET"] = "another secret"
    other = fsspec.filesystem("botwo", config=cfg)
    assert other is not first and other._fs_token != first._fs_token
    os.environ["FS_LAKE_SECRET"] = servers["lake"].secret_key
    assert fsspec.filesystem("botwo", config=cfg) is first
    client = botwo.client("s3", config=cfg)
    assert BotwoFileSystem(client=client) is BotwoFileSystem(client=client)
    assert BotwoFileSystem(client=client) is not BotwoFileSystem(client=botwo.client("s3", config=cfg))


def test_no_secret_from_the_environment_is_ever_shown(
    fs: BotwoFileSystem, cfg: dict[str, Any], servers: dict[str, LocalS3Server]
) -> None:
    fs.pipe_file("data/part/k", b"v")
    secrets = (servers["s3"].secret_key, servers["lake"].secret_key)
    shown = {
        "token": fs._fs_token,
        "storage_options": str(fs.storage_options),
        "repr": repr(fs),
        "to_json": fs.to_json(),
        "fsid": fs.fsid,
        "pickle": pickle.dumps(fs).decode("latin-1"),
    }
    for where, text in shown.items():
        for secret in secrets:
            assert secret not in text, where
    assert "${FS_S3_SECRET}" in shown["to_json"] and "${FS_LAKE_SECRET}" in shown["pickle"]
    # Overrides from BOTWO_CLIENT_<NAME>_<FIELD> stay out too.
    os.environ["BOTWO_CLIENT_LAKE_AWS_SECRET_ACCESS_KEY"] = servers["lake"].secret_key + "-override"
    overridden = fsspec.filesystem("botwo", config=cfg)
    assert overridden is not fs
    for text in (
        overridden._fs_token,
        str(overridden.storage_options),
        overridden.to_json(),
        overridden.fsid,
    ):
        assert "-override" not in text
    assert "-override" not in pickle.dumps(overridden).decode("latin-1")


def test_pickle_round_trip(fs: BotwoFileSystem, cfg: dict[str, Any]) -> None:
    fs.pipe_file("data/part/k", b"pickled")
    again = pickle.loads(pickle.dumps(fs))
    assert again is fs  # the same configuration: fsspec's cached instance
    assert again.cat("data/part/k") == b"pickled"
    over_client = BotwoFileSystem(client=botwo.client("s3", config=cfg), version_aware=True)
    copied = pickle.loads(pickle.dumps(over_client))
    assert copied.version_aware and copied.cat("data/part/k") == b"pickled"
    # Unpickled again (a task each): the same instance and client, not one more each time.
    assert pickle.loads(pickle.dumps(over_client)) is copied
    assert pickle.loads(pickle.dumps(fs)).client is fs.client


def test_a_client_of_boto3_objects_does_not_pickle(fs: BotwoFileSystem, backends: dict[str, Any]) -> None:
    client = botwo.client({"s3": backends["s3"]}, [{"bucket_name": "*", "client": "s3"}])
    over = BotwoFileSystem(client=client)
    fs.pipe_file("data/k", b"v")
    assert over.cat("data/k") == b"v"
    with pytest.raises(TypeError, match="built from boto3 client objects cannot be pickled"):
        pickle.dumps(over)
    with pytest.raises(TypeError, match="cannot be serialized"):
        over.to_json()
    with pytest.raises(botwo.ConfigError, match="must be a botwo client"):
        BotwoFileSystem(client=backends["s3"])
    with pytest.raises(botwo.ConfigError, match="not both"):
        BotwoFileSystem(client=client, config={})


def test_from_json_round_trip(fs: BotwoFileSystem, cfg: dict[str, Any]) -> None:
    fs.pipe_file("data/part/k", b"json")
    blob = fs.to_json()
    assert json.loads(blob)["config"] == cfg
    again = fsspec.AbstractFileSystem.from_json(blob)
    assert again is fs and again.cat("data/part/k") == b"json"
    versioned = fsspec.filesystem("botwo", config=cfg, version_aware=True)
    back = fsspec.AbstractFileSystem.from_json(versioned.to_json())
    assert back is versioned and back.version_aware
    assert fsspec.AbstractFileSystem.from_dict(fs.to_dict()) is fs


def test_to_json_without_passwords(cfg: dict[str, Any], servers: dict[str, LocalS3Server]) -> None:
    literal = copy.deepcopy(cfg)
    literal["clients"]["s3"]["aws_secret_access_key"] = servers["s3"].secret_key
    literal["clients"]["lake"]["aws_session_token"] = "a-literal-token"
    fs = fsspec.filesystem("botwo", config=literal)
    hidden = fs.to_json(include_password=False)
    for secret in (servers["s3"].secret_key, "a-literal-token", "${FS_LAKE_SECRET}"):
        assert secret not in hidden
    clients = json.loads(hidden)["config"]["clients"]
    assert set(clients["s3"]) == set(literal["clients"]["s3"]) - {"aws_secret_access_key"}
    assert "aws_session_token" not in clients["lake"] and "aws_secret_access_key" not in clients["lake"]
    assert json.loads(fs.to_json())["config"] == literal  # fsspec's default: included


def test_to_json_without_passwords_hides_url_userinfo(cfg: dict[str, Any]) -> None:
    literal = copy.deepcopy(cfg)
    endpoint = literal["clients"]["s3"]["endpoint_url"]
    literal["clients"]["s3"]["endpoint_url"] = endpoint.replace("://", "://ops:pa55@word@")
    literal["clients"]["lake"]["config"] = {"proxies": {"https": "http://proxyuser:pr0xy-pw@10.0.0.1:3128"}}
    fs = fsspec.filesystem("botwo", config=literal)
    hidden = fs.to_json(include_password=False)
    for secret in ("pa55@word", "ops:", "pr0xy-pw", "proxyuser"):
        assert secret not in hidden
    clients = json.loads(hidden)["config"]["clients"]
    assert clients["s3"]["endpoint_url"] == endpoint
    assert clients["lake"]["config"]["proxies"]["https"] == "http://10.0.0.1:3128"
    assert "pr0xy-pw" in fs.to_json()  # fsspec's default: everything, for the same process


def test_to_json_keeps_a_clients_copy_config(cfg: dict[str, Any]) -> None:
    client = botwo.client("s3", config=cfg, copy_config=botwo.CopyConfig(part_size=6 * MiB))
    over = BotwoFileSystem(client=client)
    back = fsspec.AbstractFileSystem.from_json(over.to_json())
    assert back.client._copy_config.part_size == 6 * MiB
    assert back.client._copy_config == pickle.loads(pickle.dumps(over)).client._copy_config


def test_unstrip_protocol(fs: BotwoFileSystem) -> None:
    assert fs.unstrip_protocol("data/k") == "botwo://data/k"
    assert fs.unstrip_protocol("botwo://data/k") == "botwo://data/k"


def test_spawned_workers_read_through_the_unpickled_filesystem(fs: BotwoFileSystem) -> None:
    files = {f"data/part/w{i}": f"worker {i}".encode() for i in range(4)}
    files["data/plain"] = b"plain"
    files["old/renamed"] = b"renamed"
    fs.pipe(files)
    paths = sorted(files)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        read = pool.map(fs.cat_file, paths)
        fsid = pool.apply(operator.attrgetter("fsid"), (fs,))
        listed = pool.apply(fs.find, ("data",))
    assert dict(zip(paths, read, strict=True)) == files
    assert fsid == fs.fsid  # the same id in another process
    assert listed == sorted(p for p in files if p.startswith("data/"))


def test_fsspec_configuration_may_name_the_config(
    fs: BotwoFileSystem, cfg: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fsspec's own configuration for the protocol (``fsspec.config.conf["botwo"]``, as
    ``FSSPEC_BOTWO_CONFIG`` or fsspec's config files set it) gives the configuration."""
    path = tmp_path / "botwo.json"
    path.write_text(json.dumps(cfg))
    fs.pipe_file("data/part/k", b"configured")
    monkeypatch.setitem(fsspec.config.conf, "botwo", {"config": str(path)})
    configured = fsspec.filesystem("botwo")
    assert configured.cat("data/part/k") == b"configured"
    assert pickle.loads(pickle.dumps(configured)).cat("data/part/k") == b"configured"
    assert json.loads(configured.to_json())["config"] == cfg
    assert fsspec.filesystem("botwo", config=cfg).cat("data/part/k") == b"configured"  # options win


def test_unknown_storage_options_are_refused(cfg: dict[str, Any]) -> None:
    with pytest.raises(botwo.ConfigError, match=r"unknown storage options.*endpoint_url"):
        fsspec.filesystem("botwo", config=cfg, endpoint_url="http://x")
    with pytest.raises(botwo.ConfigError, match="default_block_size"):
        fsspec.filesystem("botwo", config=cfg, default_block_size=1024)
    with pytest.raises(TypeError, match="keyword"):
        BotwoFileSystem(cfg)


# -- s3:// URLs ------------------------------------------------------------------------------


@pytest.fixture
def s3_urls() -> Iterator[None]:
    """fsspec's registry as it was, and no default configuration, after the test."""
    registry = importlib.import_module("fsspec.registry")
    saved = {p: registry._registry.get(p) for p in ("s3", "s3a")}
    yield
    for protocol, impl in saved.items():
        if impl is None:
            registry._registry.pop(protocol, None)
        else:
            registry._registry[protocol] = impl
    BotwoS3FileSystem.default_settings = None
    BotwoS3FileSystem.clear_instance_cache()


def test_route_s3_urls(
    s3_urls: None, fs: BotwoFileSystem, cfg: dict[str, Any], backends: dict[str, Any]
) -> None:
    route_s3_urls(cfg)
    s3 = fsspec.filesystem("s3")
    assert isinstance(s3, BotwoS3FileSystem) and fsspec.filesystem("s3a") is not None
    s3.pipe_file("s3://data/part/via-s3", b"hello")
    assert objects(backends["lake"], "lake-data") == {"main/part/via-s3": b"hello"}
    with fsspec.open("s3://data/part/via-s3", "rb") as f:
        assert f.read() == b"hello"
    with fsspec.open("s3a://data/part/via-s3", "rt") as t:
        assert t.read() == "hello"
    with fsspec.open("s3://old/written", "wb") as f:
        f.write(b"written")
    assert objects(backends["lake"], "new-repo") == {"main/written": b"written"}
    assert s3.unstrip_protocol("data/x") == "s3://data/x"
    fs_, path = fsspec.core.url_to_fs("s3a://data/part/via-s3")
    assert isinstance(fs_, BotwoS3FileSystem) and path == "data/part/via-s3"
    assert pickle.loads(pickle.dumps(s3)).cat("s3://old/written") == b"written"


@pytest.mark.parametrize(
    "options",
    [{"anon": True}, {"key": "AKIA", "secret": "s"}, {"endpoint_url": "http://x"}, {"client_kwargs": {}}],
)
def test_s3fs_options_are_refused(s3_urls: None, cfg: dict[str, Any], options: dict[str, Any]) -> None:
    route_s3_urls(cfg)
    with pytest.raises(botwo.ConfigError, match="unknown storage options"):
        fsspec.filesystem("s3", **options)
    with pytest.raises(botwo.ConfigError, match="unknown storage options"):
        fsspec.open("s3://data/x", "rb", **options).open()


def test_the_s3_registration_did_not_leak() -> None:
    """Whatever ran before on this worker: s3:// is not botwo's unless asked for."""
    registry = importlib.import_module("fsspec.registry")
    assert registry._registry.get("s3") is not BotwoS3FileSystem
    assert BotwoS3FileSystem.default_settings is None


# -- the differential oracle ------------------------------------------------------------------

SPLIT_MAPPING: list[dict[str, Any]] = [
    {
        "bucket_name": "data",
        "prefix": "part/",
        "client": "lake",
        "mapped_bucket_name": "lake-data",
        "key_prefix": "main/",
    },
    {
        "bucket_name": "data",
        "prefix": "pa/",
        "strip_prefix": True,
        "client": "lake",
        "mapped_bucket_name": "pa-data",
    },
    {"bucket_name": "*", "client": "s3"},
]
SEGMENT = st.text(alphabet=st.sampled_from(list("ab2F +%é日~-_")), min_size=1, max_size=3)
KEY = st.builds(
    lambda first, rest: "/".join([first, *rest]),
    st.sampled_from(["part", "part", "pa", "pa", "par", "part +", "é"]),  # part/ and pa/ are split off
    st.lists(SEGMENT, max_size=2),
)


@st.composite
def scenarios(draw: st.DrawFn) -> list[tuple[Any, ...]]:
    """Pipes of a few keys, then pipes, removals (of keys and of their directories) and
    copies among those keys and fresh ones."""
    keys = draw(st.lists(KEY, min_size=2, max_size=5, unique=True))
    dirs = sorted({k.rsplit("/", 1)[0] for k in keys if "/" in k})
    known = st.sampled_from(keys)
    operation = st.one_of(
        st.tuples(st.just("pipe"), known | KEY, st.binary(max_size=16)),
        st.tuples(st.just("rm"), st.sampled_from(keys + dirs), st.booleans()),
        st.tuples(st.just("cp"), known, known | KEY),
    )
    first = [("pipe", k, draw(st.binary(max_size=16))) for k in keys[: draw(st.integers(1, len(keys)))]]
    return first + draw(st.lists(operation, min_size=1, max_size=8))


def _apply(fs: BotwoFileSystem, operation: tuple[Any, ...]) -> str:
    kind, a, b = operation
    try:
        if kind == "pipe":
            fs.pipe_file(f"data/{a}", b)
        elif kind == "rm":
            fs.rm(f"data/{a}", recursive=b)
        else:
            fs.cp(f"data/{a}", f"data/{b}")
    except Exception as err:
        return type(err).__name__
    return "ok"


def _view(fs: BotwoFileSystem) -> dict[str, Any]:
    files = fs.find("data", detail=True)
    dirs = [p for p in fs.find("data", withdirs=True) if p not in files]
    return {
        "files": {p: (e["size"], e["type"]) for p, e in files.items()},
        "dirs": dirs,
        "ls": {d: [(e["name"], e["type"], e["size"]) for e in fs.ls(d)] for d in ["data", *dirs]},
        "cat": fs.cat(list(files)) if files else {},
        "du": fs.du("data"),
    }


# The servers are reset for each example; the only function-scoped fixture is the
# (autouse) environment restorer.
@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(operations=scenarios())
def test_split_filesystem_matches_one_plain_server(
    servers: dict[str, LocalS3Server], operations: list[tuple[Any, ...]]
) -> None:
    for server in servers.values():
        server.reset()
    servers["s3"].client().create_bucket(Bucket="data")
    for bucket in ("lake-data", "pa-data"):
        servers["lake"].client().create_bucket(Bucket=bucket)
    servers["oracle"].client().create_bucket(Bucket="data")
    split = fsspec.filesystem(
        "botwo",
        config={
            "clients": {"s3": servers["s3"].client_config(), "lake": servers["lake"].client_config()},
            "mapping": SPLIT_MAPPING,
        },
    )
    oracle = fsspec.filesystem(
        "botwo",
        config={
            "clients": {"oracle": servers["oracle"].client_config()},
            "mapping": [{"bucket_name": "*", "client": "oracle"}],
        },
    )
    for operation in operations:
        assert _apply(split, operation) == _apply(oracle, operation), operation
    assert _view(split) == _view(oracle)
