"""fsspec's own conformance suites (``fsspec.tests.abstract``) on the botwo filesystem.

The filesystem runs over two real local S3 servers with a rule table that splits the test
bucket: the suites' trees straddle the split, so copies, listings, globs and bulk deletes
cross backends (and renames) in the middle of a directory::

    data/tree/source/sub...   -> lake: lake-data / main/tree/source/sub...  (subdir/, subdir.txt)
    data/tree/target/new...   -> lake: lake-data / main/tree/target/new...  (newdir/, newfile)
    everything else           -> s3, unchanged                              (file1, file2, target/...)

A directory such as ``data/tree/source`` therefore lists keys from both servers, and a
copy from ``source/subdir`` into ``target`` streams from one server to the other.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from typing import Any

import fsspec
import fsspec.tests.abstract as abstract
import pytest

from botwo.filesystem import BotwoFileSystem
from botwo.testing import LocalS3Server

BUCKET = "data"
LAKE_BUCKET = "lake-data"

# The split is meant to cut through names, not only folders: "tree/source/sub" takes both
# subdir/ and subdir.txt. botwo warns about such a prefix; here it is the point.
pytestmark = pytest.mark.filterwarnings("ignore::botwo.PrefixWithoutSlashWarning")

MAPPING: list[dict[str, Any]] = [
    {
        "bucket_name": BUCKET,
        "prefix": "tree/source/sub",
        "client": "lake",
        "mapped_bucket_name": LAKE_BUCKET,
        "key_prefix": "main/",
    },
    {
        "bucket_name": BUCKET,
        "prefix": "tree/target/new",
        "client": "lake",
        "mapped_bucket_name": LAKE_BUCKET,
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]


def config(servers: dict[str, LocalS3Server]) -> dict[str, Any]:
    return {
        "clients": {"s3": servers["s3"].client_config(), "lake": servers["lake"].client_config()},
        "mapping": MAPPING,
    }


def contents(backends: dict[str, Any]) -> dict[str, list[str]]:
    """Every key of both servers, by ``server/bucket``."""
    out: dict[str, list[str]] = {}
    for name in ("s3", "lake"):
        for bucket in backends[name].list_buckets()["Buckets"]:
            listed = backends[name].list_objects_v2(Bucket=bucket["Name"]).get("Contents", [])
            out[f"{name}/{bucket['Name']}"] = [o["Key"] for o in listed]
    return out


class BotwoFixtures(abstract.AbstractFixtures):
    """The fixtures the abstract suites need, over the split bucket."""

    @pytest.fixture
    def fs(self, servers: dict[str, LocalS3Server], backends: dict[str, Any]) -> Iterator[BotwoFileSystem]:
        backends["s3"].create_bucket(Bucket=BUCKET)
        backends["lake"].create_bucket(Bucket=LAKE_BUCKET)
        fs = fsspec.filesystem("botwo", config=config(servers))
        assert isinstance(fs, BotwoFileSystem)
        yield fs
        # Whatever the test left, it left in the caller's names on the right servers only.
        left = contents(backends)
        assert all(k.startswith("tree/") for k in left[f"s3/{BUCKET}"])
        assert all(
            k.startswith(("main/tree/source/sub", "main/tree/target/new"))
            for k in left[f"lake/{LAKE_BUCKET}"]
        )

    @pytest.fixture
    def fs_join(self) -> Callable[..., str]:
        return posixpath.join

    @pytest.fixture
    def fs_path(self) -> str:
        return f"{BUCKET}/tree"

    @pytest.fixture
    def supports_empty_directories(self) -> bool:
        return False  # an object store has no empty directories (as s3fs)


class TestBotwoCopy(abstract.AbstractCopyTests, BotwoFixtures):
    pass


class TestBotwoGet(abstract.AbstractGetTests, BotwoFixtures):
    pass


class TestBotwoPut(abstract.AbstractPutTests, BotwoFixtures):
    pass


class TestBotwoOpen(abstract.AbstractOpenTests, BotwoFixtures):
    pass


class TestBotwoPipe(abstract.AbstractPipeTests, BotwoFixtures):
    pass


def test_the_suites_cross_the_split(servers: dict[str, LocalS3Server], backends: dict[str, Any]) -> None:
    """The suites' tree really straddles both servers, renamed on the lake side."""
    backends["s3"].create_bucket(Bucket=BUCKET)
    backends["lake"].create_bucket(Bucket=LAKE_BUCKET)
    fs = fsspec.filesystem("botwo", config=config(servers))
    for key in ("file1", "subdir/subfile1", "subdir.txt"):
        fs.pipe_file(f"{BUCKET}/tree/source/{key}", key.encode())
    assert contents(backends) == {
        f"s3/{BUCKET}": ["tree/source/file1"],
        f"lake/{LAKE_BUCKET}": ["main/tree/source/subdir.txt", "main/tree/source/subdir/subfile1"],
    }
    assert fs.ls(f"{BUCKET}/tree/source", detail=False) == [
        f"{BUCKET}/tree/source/file1",
        f"{BUCKET}/tree/source/subdir",
        f"{BUCKET}/tree/source/subdir.txt",
    ]
    fs.cp(f"{BUCKET}/tree/source", f"{BUCKET}/tree/target", recursive=True)
    assert contents(backends)[f"s3/{BUCKET}"] == [
        "tree/source/file1",
        "tree/target/file1",
        "tree/target/subdir.txt",
        "tree/target/subdir/subfile1",
    ]
    assert fs.cat(f"{BUCKET}/tree/target/subdir/subfile1") == b"subdir/subfile1"
