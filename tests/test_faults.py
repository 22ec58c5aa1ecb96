"""Cross-backend copies that fail part-way: real servers stopped, uploads pulled away,
bytes altered on the wire, a source overwritten, an interrupt.

Whatever happens, a failed copy raises a clear error and leaves no object and no
multipart upload on the destination (where the destination can still be asked).
"""

from __future__ import annotations

import hashlib
import threading
import urllib.parse
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import urllib3.exceptions
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    EndpointConnectionError,
    FlexibleChecksumError,
)
from botocore.response import StreamingBody

import botwo
from botwo import CopyConfig
from botwo._copy import CrossCopy
from botwo._s3 import MIN_PART_SIZE
from botwo.testing import LocalS3Server

MiB = 1024 * 1024
# Clients of the servers a test stops: no retries, so that the failure shows at once.
NO_RETRIES = Config(s3={"addressing_style": "path"}, retries={"mode": "standard", "total_max_attempts": 1})


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    defaults = CopyConfig.__init__.__kwdefaults__
    assert defaults is not None
    monkeypatch.setitem(defaults, "part_size", MIN_PART_SIZE)
    monkeypatch.setitem(defaults, "concurrency", 2)


@pytest.fixture
def doomed() -> Iterator[LocalS3Server]:
    """A server of this test's own, that the test may stop."""
    with LocalS3Server("doomed") as server:
        yield server


def payload(size: int) -> bytes:
    block = hashlib.sha256(b"faults").digest() * (MiB // 32)
    return (block * (size // len(block) + 1))[:size]


def on_part(client: Any, number: int, action: Callable[[], None]) -> threading.Event:
    """Run ``action`` once, when ``client`` is about to send part ``number`` of an upload."""
    done = threading.Event()
    lock = threading.Lock()

    def handler(params: Any, **_: Any) -> None:
        part = params.get("PartNumber")
        with lock:
            if part != number or done.is_set():
                return
            done.set()
        action()

    client.meta.events.register("before-parameter-build.s3.UploadPart", handler)
    return done


def _part_of(request: Any) -> int | None:
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(request.url).query)
    return int(query["partNumber"][0]) if "partNumber" in query else None


def nothing_left(client: Any, bucket: str) -> None:
    assert "Contents" not in client.list_objects_v2(Bucket=bucket)
    assert "Uploads" not in client.list_multipart_uploads(Bucket=bucket)


# -- servers that go away ------------------------------------------------------------------


@pytest.mark.usefixtures("small_parts")
def test_a_source_server_stopped_mid_copy(doomed: LocalS3Server, backends: dict[str, Any]) -> None:
    far, near = doomed.client(config=NO_RETRIES), backends["s3"]
    far.create_bucket(Bucket="far-data")
    near.create_bucket(Bucket="near")
    # Larger than what loopback sockets may buffer (a receive buffer can grow to 32 MiB
    # here), so that stopping the server does cut the read.
    far.put_object(Bucket="far-data", Key="k/big", Body=payload(96 * MiB))
    s3: Any = botwo.client(
        {"far": far, "near": near},
        [
            {"bucket_name": "data", "mapped_bucket_name": "far-data", "client": "far", "key_prefix": "k/"},
            {"bucket_name": "*", "client": "near"},
        ],
    )
    stopped = on_part(near, 1, doomed.stop)
    threads = set(threading.enumerate())
    with pytest.raises(EndpointConnectionError) as caught:
        s3.copy_object(Bucket="near", Key="copy", CopySource="data/big")
    assert stopped.is_set()
    # The source could not be read again from where the stream broke: the error names
    # its endpoint, not the target's bucket and key.
    assert f'"{far.meta.endpoint_url}"' in str(caught.value) and "far-data" not in str(caught.value)
    # It names the client that failed, and the side: the source's, not the destination's.
    record = botwo.served(caught.value)
    assert record is not None and (record.client, record.side) == ("far", "source")
    assert (record.route.rule_index, record.target_bucket, record.target_key) == (0, "far-data", "k/big")
    (note,) = caught.value.__notes__
    assert note == (
        "botwo: copy_object(Bucket='near', Key='copy', CopySource='data/big') on its source "
        "through rule 0 (bucket_name='data') -> client 'far' failed before S3 answered"
    )
    nothing_left(near, "near")
    # Every worker has stopped (threads of earlier tests may have ended meanwhile).
    assert set(threading.enumerate()) <= threads


@pytest.mark.usefixtures("small_parts")
def test_a_destination_server_stopped_mid_copy(doomed: LocalS3Server, backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], doomed.client(config=NO_RETRIES)
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    body = payload(16 * MiB)
    source.put_object(Bucket="src", Key="big", Body=body)
    s3: Any = botwo.client(
        {"lake": source, "doomed": dest},
        [{"bucket_name": "src", "client": "lake"}, {"bucket_name": "*", "client": "doomed"}],
    )
    doomed_url = doomed.endpoint_url
    on_part(dest, 2, doomed.stop)
    threads = set(threading.enumerate())
    # The part being sent when the server stops has its connection closed; the next one
    # finds nobody listening.
    with pytest.raises((EndpointConnectionError, ConnectionClosedError)) as caught:
        s3.copy_object(Bucket="dst", Key="copy", CopySource="src/big")
    # The endpoint, not the request's URL (which holds the target's names).
    assert f'"{doomed_url}"' in str(caught.value) and "dst/copy" not in str(caught.value)
    # The upload could not be aborted either (its server is gone): the error says so.
    assert any("could not abort the multipart upload" in note for note in caught.value.__notes__)
    record = botwo.served(caught.value)
    assert record is not None and (record.client, record.side) == ("doomed", "destination")
    note = caught.value.__notes__[-1]
    assert "on its destination through rule 1 (bucket_name='*') -> client 'doomed' failed" in note
    assert set(threading.enumerate()) <= threads
    # The source is untouched, and no other backend got anything.
    assert source.get_object(Bucket="src", Key="big")["Body"].read() == body
    assert [o["Key"] for o in source.list_objects_v2(Bucket="src")["Contents"]] == ["big"]


@pytest.mark.usefixtures("small_parts")
def test_an_upload_pulled_away_mid_copy(backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    source.put_object(Bucket="src", Key="big", Body=payload(16 * MiB))
    s3: Any = botwo.client(
        {"lake": source, "s3": dest},
        [{"bucket_name": "src", "client": "lake"}, {"bucket_name": "*", "client": "s3"}],
    )

    def abort_all() -> None:
        for upload in dest.list_multipart_uploads(Bucket="dst")["Uploads"]:
            dest.abort_multipart_upload(Bucket="dst", Key=upload["Key"], UploadId=upload["UploadId"])

    on_part(dest, 2, abort_all)
    # S3 says NoSuchUpload; moto answers an upload_part to an aborted upload with a 500.
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.copy_object(Bucket="dst", Key="copy", CopySource="src/big")
    assert caught.value.operation_name == "CopyObject"  # the caller's call, not botwo's UploadPart
    nothing_left(dest, "dst")


# -- bytes altered on the way --------------------------------------------------------------


def _corrupt(request: Any) -> None:
    # botocore sends a bytes body as a BytesIO, a bytearray as it is.
    body = request.body.getvalue() if hasattr(request.body, "getvalue") else bytes(request.body)
    request.body = body[:100] + bytes([body[100] ^ 0xFF]) + body[101:]


@pytest.mark.usefixtures("small_parts")
def test_a_part_altered_on_the_wire_fails_the_copy(backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    source.put_object(Bucket="src", Key="big", Body=payload(12 * MiB))
    s3: Any = botwo.client(
        {"lake": source, "s3": dest},
        [{"bucket_name": "src", "client": "lake"}, {"bucket_name": "*", "client": "s3"}],
    )

    def corrupt_part_2(request: Any, **_: Any) -> None:
        if _part_of(request) == 2:
            _corrupt(request)

    # moto does not check Content-MD5: the ETag it returns is the MD5 of what it got.
    dest.meta.events.register("before-send.s3.UploadPart", corrupt_part_2)
    with pytest.raises(s3.exceptions.ClientError, match=r"ETag for part 2 .* is not the MD5") as caught:
        s3.copy_object(Bucket="dst", Key="copy", CopySource="src/big")
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    nothing_left(dest, "dst")


def test_a_single_put_altered_on_the_wire_is_deleted(backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    dest.put_bucket_versioning(Bucket="dst", VersioningConfiguration={"Status": "Enabled"})
    dest.put_object(Bucket="dst", Key="copy", Body=b"the version before")
    source.put_object(Bucket="src", Key="small", Body=payload(1000))
    dest.meta.events.register("before-send.s3.PutObject", lambda request, **_: _corrupt(request))
    copier = CrossCopy([source], dest, falls_back=lambda err: False)
    with pytest.raises(ClientError, match=r"the object .* is not the MD5") as caught:
        copier.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "small"})
    assert caught.value.response["Error"]["Code"] == "BadDigest"
    # The version the copy wrote is gone; the one before is the object again.
    versions = dest.list_object_versions(Bucket="dst")
    assert len(versions["Versions"]) == 1 and "DeleteMarkers" not in versions
    assert dest.get_object(Bucket="dst", Key="copy")["Body"].read() == b"the version before"


# -- the source changes, or its connection drops -------------------------------------------


def test_a_source_overwritten_mid_copy_fails_the_copy(backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    source.put_object(Bucket="src", Key="big", Body=payload(4 * MIN_PART_SIZE))
    # Two read streams: the second half is read by a GET of its own, pinned to the
    # version that the first GET (already streaming) saw. The source is overwritten just
    # before that second GET is sent.
    copier = CrossCopy(
        [source], dest, falls_back=lambda err: False, part_size=MIN_PART_SIZE, concurrency=1, read_streams=2
    )
    overwritten = threading.Event()

    def overwrite(params: Any, **_: Any) -> None:
        if "Range" in params and not overwritten.is_set():
            overwritten.set()
            source.put_object(Bucket="src", Key="big", Body=b"a new version")

    source.meta.events.register("before-parameter-build.s3.GetObject", overwrite)
    with pytest.raises(ClientError) as caught:
        copier.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "big"})
    assert caught.value.response["Error"]["Code"] == "PreconditionFailed"
    nothing_left(dest, "dst")


class _Breaks:
    """A urllib3 response that drops its connection after ``after`` bytes (once)."""

    def __init__(self, raw: Any, after: int) -> None:
        self._raw = raw
        self._left = after

    def read(self, amt: int | None = None) -> bytes:
        if self._left <= 0:
            self._raw.close()
            raise urllib3.exceptions.ProtocolError("Connection broken: IncompleteRead")
        data: bytes = self._raw.read(min(amt or self._left, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._raw.close()


def test_a_dropped_source_connection_is_resumed(backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    body = payload(3 * MIN_PART_SIZE)
    source.put_object(Bucket="src", Key="big", Body=body)
    ranges: list[str | None] = []
    broken = threading.Event()

    def drop_once(parsed: Any, model: Any, **_: Any) -> None:
        if not broken.is_set() and "Body" in parsed:
            broken.set()
            body = parsed["Body"]
            broken_stream: Any = _Breaks(body._raw_stream, 7 * MiB + 3)
            parsed["Body"] = StreamingBody(broken_stream, body._content_length)

    def record(params: Any, **_: Any) -> None:
        ranges.append(params.get("Range"))

    source.meta.events.register("after-call.s3.GetObject", drop_once)
    source.meta.events.register("before-parameter-build.s3.GetObject", record)
    copier = CrossCopy([source], dest, falls_back=lambda err: False, part_size=MIN_PART_SIZE, concurrency=2)
    copier.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "big"})
    assert ranges == [None, f"bytes={7 * MiB + 3}-{3 * MIN_PART_SIZE - 1}"]
    assert dest.get_object(Bucket="dst", Key="copy")["Body"].read() == body


# -- an interrupt ----------------------------------------------------------------------------


@pytest.mark.usefixtures("small_parts")
def test_an_interrupt_aborts_the_upload(backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    source.put_object(Bucket="src", Key="big", Body=payload(11 * MiB))
    s3: Any = botwo.client(
        {"lake": source, "s3": dest},
        [{"bucket_name": "src", "client": "lake"}, {"bucket_name": "*", "client": "s3"}],
    )

    def interrupt(**_: Any) -> None:
        raise KeyboardInterrupt  # Ctrl-C, in the calling thread, as the upload completes

    dest.meta.events.register("before-call.s3.CompleteMultipartUpload", interrupt)
    with pytest.raises(KeyboardInterrupt):
        s3.copy_object(Bucket="dst", Key="copy", CopySource="src/big")
    nothing_left(dest, "dst")


class _Flips:
    """A urllib3 response whose byte 100 arrives altered."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._position = 0

    def read(self, amt: int | None = None) -> bytes:
        data: bytes = self._raw.read(amt)
        start, self._position = self._position, self._position + len(data)
        if start <= 100 < self._position:
            i = 100 - start
            data = data[:i] + bytes([data[i] ^ 0xFF]) + data[i + 1 :]
        return data

    def close(self) -> None:
        self._raw.close()


def test_a_source_altered_on_the_wire_is_caught_by_its_checksum(backends: dict[str, Any]) -> None:
    source, dest = backends["lake"], backends["s3"]
    source.create_bucket(Bucket="src")
    dest.create_bucket(Bucket="dst")
    # botocore sends a CRC32 with the object; the server returns it with a whole-object GET.
    source.put_object(Bucket="src", Key="small", Body=payload(1000))

    def alter(parsed: Any, **_: Any) -> None:
        parsed["Body"]._raw_stream = _Flips(parsed["Body"]._raw_stream)

    source.meta.events.register("after-call.s3.GetObject", alter)
    copier = CrossCopy([source], dest, falls_back=lambda err: False)
    with pytest.raises(FlexibleChecksumError):
        copier.copy_object(Bucket="dst", Key="copy", CopySource={"Bucket": "src", "Key": "small"})
    nothing_left(dest, "dst")
