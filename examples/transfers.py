"""Managed transfers through botwo: upload_file / download_file with progress.

boto3's transfer methods (``upload_file``, ``download_file``, ``upload_fileobj``,
``download_fileobj``, ``copy``) run over the botwo client itself, so every request of
a multipart upload (create, each part, complete) is routed and renamed like any other
call, and ``Callback`` reports the bytes really sent and received.

The example uploads a 12 MiB file in three parts of at most 5 MiB to a bucket that lives in
lakeFS, counts the ``UploadPart`` requests with an event handler registered on the
botwo client (``meta.events`` reaches every underlying client), downloads it back, and
copies it to S3 (a copy across backends, streamed through this process part by part).

Run: ``python examples/transfers.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import io
import os
import tempfile
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {
        "bucket_name": "datasets",
        "mapped_bucket_name": "datasets-repo",
        "client": "lakefs",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]
MIB = 1024 * 1024


def main() -> None:
    with two_backends() as (aws, lakefs), tempfile.TemporaryDirectory() as tmp:
        ensure_bucket(lakefs, "datasets-repo")
        s3 = botwo.client({"s3": aws, "lakefs": lakefs}, MAPPING)

        source = Path(tmp, "images.tar")
        source.write_bytes(os.urandom(12 * MIB))
        config = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)

        parts: list[str] = []

        def count_part(params: dict[str, Any], **_: Any) -> None:
            parts.append(params["Key"])  # the target key: the handler runs in the backend's client

        s3.meta.events.register("provide-client-params.s3.UploadPart", count_part)

        uploaded: list[int] = []
        s3.upload_file(str(source), "datasets", "2024/images.tar", Callback=uploaded.append, Config=config)
        assert sum(uploaded) == 12 * MIB
        assert parts == ["main/2024/images.tar"] * 3, parts
        print(f"uploaded {sum(uploaded)} bytes in {len(parts)} parts")

        head = lakefs.head_object(Bucket="datasets-repo", Key="main/2024/images.tar")
        assert head["ContentLength"] == 12 * MIB

        downloaded: list[int] = []
        target = Path(tmp, "copy.tar")
        s3.download_file(
            "datasets", "2024/images.tar", str(target), Callback=downloaded.append, Config=config
        )
        assert sum(downloaded) == 12 * MIB
        assert target.read_bytes() == source.read_bytes()
        print(f"downloaded {sum(downloaded)} bytes to {target.name}")

        # File objects work the same way.
        s3.upload_fileobj(io.BytesIO(b"label,count\ncat,3\n"), "datasets", "2024/labels.csv")
        buffer = io.BytesIO()
        s3.download_fileobj("datasets", "2024/labels.csv", buffer)
        assert buffer.getvalue() == b"label,count\ncat,3\n"

        # A managed copy within one backend is a server-side copy, renamed on the way.
        s3.copy({"Bucket": "datasets", "Key": "2024/labels.csv"}, "datasets", "2025/labels.csv")
        lakefs.head_object(Bucket="datasets-repo", Key="main/2025/labels.csv")

        # Across backends the bytes go through this process: each part is read from
        # lakeFS and uploaded to S3, in parallel, and Callback counts them.
        ensure_bucket(aws, "scratch")
        copied: list[int] = []
        s3.copy(
            {"Bucket": "datasets", "Key": "2024/images.tar"},
            "scratch",
            "images.tar",
            Callback=copied.append,
            Config=config,
        )
        assert sum(copied) == 12 * MIB
        assert aws.head_object(Bucket="scratch", Key="images.tar")["ContentLength"] == 12 * MIB
        print(f"copied {sum(copied)} bytes from lakeFS to S3")


if __name__ == "__main__":
    main()
