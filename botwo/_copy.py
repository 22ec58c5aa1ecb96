"""Cross-backend copy: ``copy_object`` and ``upload_part_copy`` between two boto3 clients.

S3's copies are server-side: the server reads the source and writes the destination.
When the source lives behind another client (another endpoint, other credentials) no
server can do that, so :class:`CrossCopy` reads the source through its client and
writes the destination through the destination's client, keeping what a caller of
``copy_object`` can observe as S3 has it.

Theory of operation
-------------------
``CrossCopy(sources, dest, falls_back=...)`` has boto3's two copy methods and takes
their parameters in *target* names (the shell has already renamed them). For each
source client in order:

* if it **is** the destination client, the copy is the server's: ``dest.copy_object``
  / ``dest.upload_part_copy`` with the parameters unchanged;
* otherwise the source is **streamed**. One ``GetObject`` opens the source (with the
  caller's ``VersionId`` and ``CopySourceSSECustomer*``); S3's ``CopySourceIf*``
  conditions are checked against its headers before any byte is read. An object of at
  most one part is read and written with one ``PutObject``; a larger one is written as
  a multipart upload: reader threads cut the source stream(s) into parts and a pool of
  upload threads sends them as ``UploadPart`` calls, at most ``concurrency + read_streams``
  part buffers alive at any time.

An error reading the source for which ``falls_back(err)`` is true (typically "no such
key") moves on to the next source; when every source has failed that way, the first
not-found error is raised, as one S3 would say ``NoSuchKey``.

With one read stream (the default) the first GET is read from start to end, cut into
parts as it arrives: servers such as moto read the whole object for every ranged GET,
and one stream is also what keeps the order of the bytes simple. With ``read_streams``
> 1 the parts are split into that many contiguous ranges, each read by its own ranged
GET. Every ``GetObject`` after the first is pinned to the source version that the first
one saw (``IfMatch`` on its ETag, and its ``VersionId`` when it has one), so a source
overwritten during the copy fails the copy instead of mixing two versions; a GET whose
connection drops mid-body is reopened, pinned the same way, from the byte where it
stopped.

Errors say which side failed: an error reading the source (its GETs, its tags, a copy
condition it fails) records ``side="source"`` and the source client's name, any other
error of a streamed copy (the destination's writes) ``side="destination"`` (see
:mod:`botwo._origin`); a server-side copy's error says it by its code.

Integrity: each part and the whole object are sent with ``ContentMD5``; the ETag that
the destination returns is compared with the MD5 of the bytes read (when the ETag is an
MD5, i.e. not for SSE-KMS or SSE-C), and the destination's ``ContentLength`` with the
source's length. On any failure (source, destination, mismatch, ``KeyboardInterrupt``)
the multipart upload is aborted and an object already written is deleted, best effort,
without hiding the original error.
"""

from __future__ import annotations

import base64
import contextlib
import datetime
import functools
import hashlib
import re
import tempfile
import threading
import urllib.parse
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.utils import parse_timestamp, parse_to_aware_datetime

from ._origin import Origin, mark, origin_of
from ._s3 import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, MiB
from ._values import DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, DEFAULT_READ_STREAMS
from .errors import Side

__all__ = ["CrossCopy"]


# A stream that breaks mid-body is reopened from where it stopped this many times.
_RESUMES = 2
_STREAM_ERRORS = (ResponseStreamingError, IncompleteReadError, ReadTimeoutError, ConnectionClosedError)
# A part is read from its GET this many bytes at a time, into its buffer.
_READ_CHUNK = 1 * MiB

# Object metadata that ``MetadataDirective`` governs: copied from the source with COPY
# (S3's default), taken from the request with REPLACE.
_METADATA = (
    "ContentType",
    "ContentEncoding",
    "ContentDisposition",
    "ContentLanguage",
    "CacheControl",
    "Expires",
    "Metadata",
)
# Members of the destination's write calls that the copy sets itself: never forwarded
# from the caller's parameters (nor are Checksum<ALGORITHM> values: _is_checksum_value).
_OWNED = frozenset(
    {
        "Bucket",
        "Key",
        "Body",
        "ContentLength",
        "ContentMD5",
        "UploadId",
        "PartNumber",
        "MultipartUpload",
        "MpuObjectSize",
        "Tagging",
        "ChecksumAlgorithm",
        *_METADATA,
    }
)
# Caller parameters that apply to reading back the destination (HeadObject, DeleteObject).
_DEST_READ = (
    "SSECustomerAlgorithm",
    "SSECustomerKey",
    "SSECustomerKeyMD5",
    "ExpectedBucketOwner",
    "RequestPayer",
)

_MD5_ETAG = re.compile(r"[0-9a-f]{32}")
_MULTIPART_ETAG = re.compile(r"[0-9a-f]{32}-[0-9]+")
_COPY_RANGE = re.compile(r"bytes=([0-9]+)-([0-9]+)")
_CONTENT_RANGE = re.compile(r"bytes ([0-9]+)-([0-9]+)/([0-9]+)")

# S3's wording for a copy condition that does not hold (HTTP 412).
_PRECONDITION_MESSAGE = "At least one of the pre-conditions you specified did not hold"


def _copy_response(
    result_member: str,
    written: Mapping[str, Any],
    last_modified: Any,
    checksums: Iterable[str],
    output: Iterable[str],
    source_version: str | None,
) -> dict[str, Any]:
    """S3's shape of a copy's response (``CopyObjectResult`` or ``CopyPartResult``) from
    the response of the write that made it: ETag and LastModified, the checksum the
    destination reports (the one its client sent), the write's other output members that
    the copy operation has, the source's version, and the destination's ResponseMetadata."""
    checksums, output = set(checksums), set(output)
    result: dict[str, Any] = {"ETag": written["ETag"], "LastModified": last_modified}
    result.update({k: v for k, v in written.items() if k in checksums})
    out: dict[str, Any] = {result_member: result}
    out.update({k: v for k, v in written.items() if k in output and k != result_member})
    if source_version is not None:
        out["CopySourceVersionId"] = source_version
    out["ResponseMetadata"] = written.get("ResponseMetadata", {})
    return out


class _Cancelled(Exception):
    """A worker stopped because another one failed (never reaches the caller)."""


@contextlib.contextmanager
def _reading_source() -> Iterator[None]:
    """Record on a backend error raised inside that it came from reading the source."""
    try:
        yield
    except (ClientError, BotoCoreError) as err:
        if origin_of(err) is None:
            mark(err, Origin(side="source"))
        raise


class CrossCopy:
    """Adapter with boto3-shaped copy methods, for a copy whose source is not (only) on
    the destination's client.

    ``sources`` are the boto3 S3 clients that may hold the source, in the order to try
    them; ``dest`` is the destination's client. ``falls_back(err)`` says whether an error
    reading the source from one client means "try the next one".

    Tuning (keyword arguments): ``part_size`` (bytes per part and per buffer, at least
    5 MiB; grown for objects of more than 10,000 parts), ``concurrency`` (parts sent at
    once), ``read_streams`` (GETs reading the source at once, each over a contiguous
    range of parts). At most ``(concurrency + read_streams) * part_size`` bytes of the
    object are in memory at any time; a part larger than ``part_size`` (a huge object, or
    a large ``CopySourceRange``) is buffered in a temporary file instead. ``verify_md5``
    compares each ETag the destination returns with the MD5 of the bytes sent, where
    that ETag is an MD5: set it to False for a destination whose ETags are not.
    ``source_names`` are the source clients' names, in the same order: an error says which
    one failed.
    """

    def __init__(
        self,
        sources: Sequence[Any],
        dest: Any,
        *,
        falls_back: Callable[[BaseException], bool],
        part_size: int = DEFAULT_PART_SIZE,
        concurrency: int = DEFAULT_CONCURRENCY,
        read_streams: int = DEFAULT_READ_STREAMS,
        verify_md5: bool = True,
        source_names: Sequence[str] | None = None,
    ) -> None:
        if not sources:
            raise ValueError("CrossCopy needs at least one source client")
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(
                f"part_size must be between {MIN_PART_SIZE} (5 MiB) and {MAX_PART_SIZE} (5 GiB), "
                f"S3's limits for a part; got {part_size}"
            )
        if concurrency < 1 or read_streams < 1:
            raise ValueError(f"concurrency and read_streams must be >= 1; got {concurrency}, {read_streams}")
        self._sources = tuple(sources)
        self._names = tuple(source_names) if source_names is not None else None
        self._dest = dest
        self._falls_back = falls_back
        self._part_size = part_size
        self._concurrency = concurrency
        self._read_streams = read_streams
        self._verify_md5 = verify_md5
        self._shapes = _shapes(dest.meta.service_model)

    def __repr__(self) -> str:
        return f"<CrossCopy {len(self._sources)} source(s), part_size={self._part_size}>"

    # -- the two copy operations ----------------------------------------------------

    def copy_object(self, **params: Any) -> dict[str, Any]:
        """``copy_object`` with the source on any of the source clients."""
        return self._each_source(
            params,
            server_side=lambda: self._dest.copy_object(**params),
            streamed=lambda client: self._copy_streamed(client, params),
        )

    def upload_part_copy(self, **params: Any) -> dict[str, Any]:
        """``upload_part_copy`` (a part of the destination's multipart upload, copied from a
        range of the source, or from all of it) with the source on any source client."""
        return self._each_source(
            params,
            server_side=lambda: self._dest.upload_part_copy(**params),
            streamed=lambda client: self._part_streamed(client, params),
        )

    def _each_source(
        self,
        params: Mapping[str, Any],
        server_side: Callable[[], dict[str, Any]],
        streamed: Callable[[Any], dict[str, Any]],
    ) -> dict[str, Any]:
        failures: list[Exception] = []
        for index, client in enumerate(self._sources):
            name = self._names[index] if self._names is not None else None
            try:
                if client is self._dest:
                    return server_side()
                return streamed(client)
            except _SourceMissing as missing:
                mark(missing.error, Origin(side="source", client=name))
                failures.append(missing.error)
            except (ClientError, BotoCoreError) as err:
                if client is not self._dest:
                    # Streamed: what did not come from reading the source is the destination's.
                    found = origin_of(err)
                    side = found.side if found is not None else "destination"
                    mark(err, Origin(side=side, client=name if side == "source" else None))
                    raise
                # A server-side copy's error may be the source's (fall back) or not; its
                # code says which (the shell reads it).
                if isinstance(err, ClientError) and self._falls_back(err):
                    mark(err, Origin(client=name))
                    failures.append(err)
                    continue
                raise
        raise _preferred(failures)

    # -- copy_object, streamed --------------------------------------------------------

    def _copy_streamed(self, client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        source = self._open(client, params, "CopyObject", byte_range=None)
        try:
            write = self._write_params(client, params, source)
            if source.size <= self._part_size:
                data = _Buffer(source.stream.read_exactly(source.size))
                source.stream.finish()
                return self._put(params, source, write, data)
            return self._multipart(params, source, write)
        finally:
            source.stream.close()

    def _put(
        self, params: Mapping[str, Any], source: _Source, write: dict[str, Any], data: _Buffer
    ) -> dict[str, Any]:
        dest, bucket, key = self._dest, params["Bucket"], params["Key"]
        args = self._forward(params, "PutObject")
        args.update(write)
        checksum = params.get("ChecksumAlgorithm")
        if checksum:
            args["ChecksumAlgorithm"] = checksum
        digest = data.digest()
        response: dict[str, Any] = dest.put_object(
            Bucket=bucket,
            Key=key,
            Body=data.body,
            ContentLength=data.length,
            ContentMD5=base64.b64encode(digest).decode(),
            **args,
        )
        try:
            self._check_etag(response, params, digest.hex(), "CopyObject", "the object")
            last_modified = self._check_written(params, response, source.size, "CopyObject")
        except BaseException as err:
            self._delete_written(params, response, err)
            raise
        return self._copy_response(response, source, last_modified)

    def _multipart(self, params: Mapping[str, Any], source: _Source, write: dict[str, Any]) -> dict[str, Any]:
        dest, bucket, key = self._dest, params["Bucket"], params["Key"]
        size = source.size
        part_size = _part_size_for(size, self._part_size)
        parts = [
            (number, start, min(start + part_size, size) - 1)
            for number, start in enumerate(range(0, size, part_size), start=1)
        ]
        args = self._forward(params, "CreateMultipartUpload")
        args.update(write)
        # As boto3's own uploads do (s3transfer's set_default_checksum_algorithm): a client
        # that sends checksums "when supported" sends a CRC32 with every part, so the upload
        # is created with that algorithm and the complete call lists each part's checksum.
        algorithm = params.get("ChecksumAlgorithm") or (
            "CRC32"
            if getattr(dest.meta.config, "request_checksum_calculation", None) == "when_supported"
            else None
        )
        if algorithm:
            args["ChecksumAlgorithm"] = algorithm
        created = dest.create_multipart_upload(Bucket=bucket, Key=key, **args)
        upload_id = created["UploadId"]
        part_args = self._forward(params, "UploadPart")
        if algorithm:
            part_args["ChecksumAlgorithm"] = algorithm
        checksum_member = f"Checksum{algorithm.upper()}" if algorithm else None

        def upload(number: int, data: _Buffer) -> dict[str, Any]:
            digest = data.digest()
            response = dest.upload_part(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                PartNumber=number,
                Body=data.rewound(),
                ContentLength=data.length,
                ContentMD5=base64.b64encode(digest).decode(),
                **part_args,
            )
            self._check_etag(response, params, digest.hex(), "CopyObject", f"part {number}")
            part = {"PartNumber": number, "ETag": response["ETag"]}
            if checksum_member and checksum_member in response:
                part[checksum_member] = response[checksum_member]
            return {"part": part, "digest": digest}

        try:
            done = _Transfer(self, source, parts, upload).run()
            ordered = [done[number] for number, _, _ in parts]
            completed: dict[str, Any] = dest.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": [d["part"] for d in ordered]},
                **self._forward(params, "CompleteMultipartUpload"),
            )
        except BaseException as err:
            self._abort(bucket, key, upload_id, params, err)
            raise
        try:
            # S3's multipart ETag: the MD5 of the parts' MD5s, then "-" and the part count.
            expected = hashlib.md5(b"".join(d["digest"] for d in ordered), usedforsecurity=False).hexdigest()
            self._check_etag(completed, params, f"{expected}-{len(parts)}", "CopyObject", "the object")
            last_modified = self._check_written(params, completed, size, "CopyObject")
        except BaseException as err:
            self._delete_written(params, completed, err)
            raise
        return self._copy_response(completed, source, last_modified)

    def _copy_response(
        self,
        written: Mapping[str, Any],
        source: _Source,
        last_modified: datetime.datetime,
    ) -> dict[str, Any]:
        """S3's CopyObject response: CopyObjectResult, the new version, the encryption
        applied, the source's version, and the destination's ResponseMetadata."""
        return _copy_response(
            "CopyObjectResult",
            written,
            last_modified,
            self._shapes.copy_checksums,
            self._shapes.copy_output,
            source.version_id,
        )

    def _write_params(self, client: Any, params: Mapping[str, Any], source: _Source) -> dict[str, Any]:
        """The new object's metadata and tags, per MetadataDirective and TaggingDirective."""
        out: dict[str, Any] = {}
        if params.get("MetadataDirective", "COPY") == "REPLACE":
            out.update({m: params[m] for m in _METADATA if m in params})
        else:
            head = source.head
            out.update({m: head[m] for m in _METADATA if head.get(m) is not None})
        if params.get("TaggingDirective", "COPY") == "REPLACE":
            if "Tagging" in params:
                out["Tagging"] = params["Tagging"]
        elif source.head.get("TagCount"):
            # S3 reports the number of tags of an object (x-amz-tagging-count) on GET and
            # omits it when there are none: the tags are fetched only when there are some.
            args = {k: v for k, v in source.get_args.items() if k in _TAGGING_READ}
            with _reading_source():
                tags = client.get_object_tagging(**args)["TagSet"]
            out["Tagging"] = urllib.parse.urlencode([(t["Key"], t["Value"]) for t in tags])
        return out

    # -- upload_part_copy, streamed ---------------------------------------------------

    def _part_streamed(self, client: Any, params: Mapping[str, Any]) -> dict[str, Any]:
        dest = self._dest
        byte_range = params.get("CopySourceRange")
        found = None
        if byte_range is not None:
            found = _COPY_RANGE.fullmatch(byte_range) if isinstance(byte_range, str) else None
            if found is None or int(found[1]) > int(found[2]):
                raise self._error(
                    "UploadPartCopy",
                    "InvalidArgument",
                    "The x-amz-copy-source-range value must be of the form bytes=first-last where "
                    "first and last are the zero-based offsets of the first and last bytes to copy",
                    400,
                    side=None,  # the parameter is wrong, whichever object it names
                    ArgumentName="x-amz-copy-source-range",
                    ArgumentValue=str(byte_range),
                )
        source = self._open(client, params, "UploadPartCopy", byte_range=byte_range)
        try:
            if found is not None and int(found[2]) >= source.size:
                # A GET clips a range that runs past the end; UploadPartCopy refuses it.
                raise self._error(
                    "UploadPartCopy",
                    "InvalidArgument",
                    f"Range specified is not valid for source object of size: {source.size}",
                    400,
                    side="source",
                    ArgumentName="x-amz-copy-source-range",
                    ArgumentValue=str(byte_range),
                )
            if source.length <= self._part_size:
                data = _Buffer(source.stream.read_exactly(source.length))
            else:
                data = source.stream.read_spooled(source.length)
            source.stream.finish()
        finally:
            source.stream.close()
        try:
            digest = data.digest()
            response: dict[str, Any] = dest.upload_part(
                Bucket=params["Bucket"],
                Key=params["Key"],
                UploadId=params["UploadId"],
                PartNumber=params["PartNumber"],
                Body=data.rewound(),
                ContentLength=data.length,
                ContentMD5=base64.b64encode(digest).decode(),
                **self._forward(params, "UploadPart"),
            )
        finally:
            data.close()
        self._check_etag(response, params, digest.hex(), "UploadPartCopy", f"part {params['PartNumber']}")
        return _copy_response(
            "CopyPartResult",
            response,
            _response_date(response),
            self._shapes.part_checksums,
            self._shapes.part_output,
            source.version_id,
        )

    # -- the source -------------------------------------------------------------------

    def _open(
        self, client: Any, params: Mapping[str, Any], operation: str, byte_range: str | None
    ) -> _Source:
        """Open the source with one GET and check the copy's conditions on its headers.

        An error for which ``falls_back`` holds is raised as :class:`_SourceMissing`.
        """
        copy_source = params["CopySource"]
        get_args: dict[str, Any] = {"Bucket": copy_source["Bucket"], "Key": copy_source["Key"]}
        if copy_source.get("VersionId") is not None:
            get_args["VersionId"] = copy_source["VersionId"]
        get_members = self._shapes.inputs["GetObject"]
        for name, value in params.items():
            # CopySourceSSECustomerKey -> SSECustomerKey, ...: the source's side of a copy.
            if name.startswith("CopySourceSSECustomer") and name[len("CopySource") :] in get_members:
                get_args[name[len("CopySource") :]] = value
        if "ExpectedSourceBucketOwner" in params:
            get_args["ExpectedBucketOwner"] = params["ExpectedSourceBucketOwner"]
        if "RequestPayer" in params:
            get_args["RequestPayer"] = params["RequestPayer"]
        try:
            with _reading_source():
                if byte_range is None:
                    response = client.get_object(**get_args)
                else:
                    response = client.get_object(Range=byte_range, **get_args)
        except Exception as err:
            if self._falls_back(err):
                raise _SourceMissing(err) from err
            raise
        try:
            failed = _failed_condition(params, response)
            if failed is not None:
                raise self._error(
                    operation,
                    "PreconditionFailed",
                    _PRECONDITION_MESSAGE,
                    412,
                    side="source",  # x-amz-copy-source-if-*: the source's conditions
                    Condition=failed,
                )
        except BaseException:
            response["Body"].close()
            raise
        return _Source(client, get_args, response)

    # -- the destination --------------------------------------------------------------

    def _forward(self, params: Mapping[str, Any], operation: str) -> dict[str, Any]:
        """The caller's parameters that ``operation`` on the destination accepts, less those
        the copy sets itself: ACL, StorageClass, SSE*, ObjectLock*, Grant*, IfMatch, ..."""
        members = self._shapes.inputs[operation]
        return {
            k: v for k, v in params.items() if k in members and k not in _OWNED and not _is_checksum_value(k)
        }

    def _check_etag(
        self, response: Mapping[str, Any], params: Mapping[str, Any], expected: str, operation: str, what: str
    ) -> None:
        """Compare an ETag the destination returned with the MD5 of what was sent.

        S3's ETag of a part or of a single PUT is the MD5 of its bytes, and a multipart
        object's the MD5 of its parts' MD5s followed by ``-<parts>``, except under
        SSE-KMS and SSE-C, where it is not derived from the plaintext.
        """
        if not self._verify_md5 or _encrypted(response, params):
            return
        etag = str(response.get("ETag", "")).strip('"').lower()
        pattern = _MULTIPART_ETAG if "-" in expected else _MD5_ETAG
        if pattern.fullmatch(etag) is None or etag == expected:
            return
        raise self._error(
            operation,
            "BadDigest",
            f"The destination's ETag for {what} ({etag}) is not the MD5 of the bytes read from the "
            f"source ({expected}): the data was altered on the way; the copy was abandoned",
            400,
            side=None,  # altered on the way: neither side says which
        )

    def _check_written(
        self, params: Mapping[str, Any], written: Mapping[str, Any], size: int, operation: str
    ) -> datetime.datetime:
        """Head the new object: its length must be the source's. Returns its LastModified."""
        args = {k: params[k] for k in _DEST_READ if k in params}
        version = _version(written)
        if version is not None:
            args["VersionId"] = version
        head = self._dest.head_object(Bucket=params["Bucket"], Key=params["Key"], **args)
        if "VersionId" not in args and head.get("ETag") != written.get("ETag"):
            # Unversioned, and another writer replaced the object since: this copy did
            # complete (and lost the race, as on S3, where the last writer wins).
            return _response_date(written)
        if head.get("ContentLength") != size:
            raise self._error(
                operation,
                "IncompleteBody",
                f"The destination holds {head.get('ContentLength')} bytes after the copy, the source "
                f"{size}: the copy was abandoned",
                400,
                side="destination",
            )
        last_modified: datetime.datetime = head["LastModified"]
        return last_modified

    def _abort(
        self, bucket: str, key: str, upload_id: str, params: Mapping[str, Any], err: BaseException
    ) -> None:
        """Abort the multipart upload after ``err`` (best effort: a failure is noted on ``err``)."""
        args = {k: params[k] for k in ("ExpectedBucketOwner", "RequestPayer") if k in params}
        try:
            self._dest.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, **args)
        except Exception as cleanup:
            # Not the names or str(cleanup): they are the target's (this class sees no other).
            err.add_note(
                f"botwo: could not abort the multipart upload {upload_id} of the copy's destination "
                f"({type(cleanup).__name__}); abort it to stop paying for its parts"
            )

    def _delete_written(
        self, params: Mapping[str, Any], written: Mapping[str, Any], err: BaseException
    ) -> None:
        """Delete the object version this copy wrote, after ``err`` (best effort)."""
        args = {k: params[k] for k in ("ExpectedBucketOwner", "RequestPayer") if k in params}
        version = _version(written)
        if version is not None:
            args["VersionId"] = version
        try:
            self._dest.delete_object(Bucket=params["Bucket"], Key=params["Key"], **args)
        except Exception as cleanup:
            err.add_note(
                "botwo: could not delete the object the failed copy wrote to its destination "
                f"({type(cleanup).__name__}); delete it"
            )

    def _error(
        self, operation: str, code: str, message: str, status: int, *, side: Side | None, **fields: str
    ) -> ClientError:
        """A ``ClientError`` (the destination's class for ``code``) shaped as S3's, about
        ``side`` of the copy (``None``: neither says)."""
        response: Any = {
            "Error": {"Code": code, "Message": message, **fields},
            "ResponseMetadata": {"HTTPStatusCode": status, "HTTPHeaders": {}, "RetryAttempts": 0},
        }
        cls = self._dest.exceptions.from_code(code)
        error: ClientError = cls(response, operation)
        mark(error, Origin(side=side))
        return error


class _Shapes:
    """What the copy needs to know of the S3 model: the members each operation takes, and
    those of the copy operations' responses."""

    def __init__(self, model: Any) -> None:
        self.inputs = {
            name: frozenset(model.operation_model(name).input_shape.members)
            for name in (
                "PutObject",
                "CreateMultipartUpload",
                "UploadPart",
                "CompleteMultipartUpload",
                "GetObject",
            )
        }
        copy_output = model.operation_model("CopyObject").output_shape
        part_output = model.operation_model("UploadPartCopy").output_shape
        self.copy_output = frozenset(copy_output.members)
        self.part_output = frozenset(part_output.members)
        result, part = copy_output.members["CopyObjectResult"], part_output.members["CopyPartResult"]
        self.copy_checksums = frozenset(m for m in result.members if m.startswith("Checksum"))
        self.part_checksums = frozenset(m for m in part.members if m.startswith("Checksum"))


@functools.lru_cache(maxsize=16)
def _shapes(model: Any) -> _Shapes:
    # Computed once per service model (bounded: each boto3 client may have its own).
    return _Shapes(model)


# Caller-side GetObject arguments that GetObjectTagging takes too.
_TAGGING_READ = ("Bucket", "Key", "VersionId", "ExpectedBucketOwner", "RequestPayer")


class _SourceMissing(Exception):
    """The source could not be read from one client, and the next may have it."""

    def __init__(self, error: Exception) -> None:
        super().__init__(str(error))
        self.error = error


def _preferred(failures: list[Exception]) -> Exception:
    """The error to raise when no source had the object: the first answer from a server
    (a "not found", as one S3 holding everything would say), else the last error (the
    last source could not be reached either)."""
    for err in failures:
        if isinstance(err, ClientError):
            return err
    return failures[-1]


class _Source:
    """The source of one copy, opened by its first GET."""

    def __init__(self, client: Any, get_args: dict[str, Any], response: dict[str, Any]) -> None:
        self.client = client
        self.head = response
        self.etag: str = response["ETag"]
        self.version_id: str | None = response.get("VersionId")
        self.length: int = response["ContentLength"]
        found = _CONTENT_RANGE.fullmatch(response.get("ContentRange", "") or "")
        start = int(found[1]) if found else 0
        self.size: int = int(found[3]) if found else self.length
        # Every later GET reads the version the first one saw.
        pinned = {**get_args, "IfMatch": self.etag}
        if self.version_id is not None:
            pinned["VersionId"] = self.version_id
        self.get_args = get_args
        self.pinned = pinned
        self.stream = _Stream(client, pinned, response["Body"], start, start + self.length)


class _Stream:
    """One GET of the source, read in order; reopened where it broke (``_RESUMES`` times)
    when the connection drops mid-body."""

    def __init__(self, client: Any, pinned: dict[str, Any], body: Any, start: int, end: int) -> None:
        self._client = client
        self._pinned = pinned
        self._body = body
        self._position = start
        self._end = end  # exclusive
        self._resumes = _RESUMES

    def read_exactly(self, n: int) -> bytes:
        """The next ``n`` bytes, as one ``bytes`` (for a part of at most part_size)."""
        if n == 0:
            return b""
        chunks: list[bytes] = []
        wanted = n
        while wanted > 0:
            chunk = self._read(wanted)
            chunks.append(chunk)
            wanted -= len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def read_into(self, buffer: bytearray, n: int) -> None:
        """The next ``n`` bytes into ``buffer[:n]``, a chunk at a time (a reused buffer:
        no allocation of a whole part per part)."""
        view = memoryview(buffer)
        filled = 0
        while filled < n:
            chunk = self._read(min(n - filled, _READ_CHUNK))
            view[filled : filled + len(chunk)] = chunk
            filled += len(chunk)

    def read_spooled(self, n: int, release: Callable[[], None] | None = None) -> _Buffer:
        """The next ``n`` bytes in a temporary file (a part larger than part_size)."""
        spool: IO[bytes] = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the buffer
        md5 = hashlib.md5(usedforsecurity=False)
        try:
            wanted = n
            while wanted > 0:
                chunk = self._read(min(wanted, _READ_CHUNK))
                md5.update(chunk)
                spool.write(chunk)
                wanted -= len(chunk)
        except BaseException:
            spool.close()
            raise
        return _Buffer(spool, length=n, digest=md5.digest(), release=release)

    def _read(self, n: int) -> bytes:
        with _reading_source():
            while True:
                try:
                    chunk: bytes = self._body.read(n)
                except _STREAM_ERRORS:
                    if self._resumes == 0:
                        raise
                    self._resumes -= 1
                    self._reopen()
                    continue
                if not chunk:
                    # The body ended early without an error (botocore checks the length only
                    # on an explicit end): treat it as a dropped connection.
                    if self._resumes == 0:
                        raise IncompleteReadError(actual_bytes=self._position, expected_bytes=self._end)
                    self._resumes -= 1
                    self._reopen()
                    continue
                self._position += len(chunk)
                return chunk

    def _reopen(self) -> None:
        self._body.close()
        response = self._client.get_object(Range=f"bytes={self._position}-{self._end - 1}", **self._pinned)
        self._body = response["Body"]

    def finish(self) -> None:
        """Done reading. A body read to its end is read once more: botocore checks the
        length, and the checksum that the server sent with a whole object (if any), on
        that last, empty read. A body not read to its end is closed."""
        if self._position < self._end:
            self._body.close()
            return
        with _reading_source():
            extra = self._body.read(1)
            if extra:  # more bytes than the server announced
                self._body.close()
                raise IncompleteReadError(actual_bytes=self._position + len(extra), expected_bytes=self._end)

    def close(self) -> None:
        """Drop the GET (after an error, or once finished: then a no-op)."""
        self._body.close()


def _open_range(source: _Source, start: int, end: int) -> _Stream:
    """A new GET of ``[start, end)`` of the source's version."""
    with _reading_source():
        response = source.client.get_object(Range=f"bytes={start}-{end - 1}", **source.pinned)
    return _Stream(source.client, source.pinned, response["Body"], start, end)


class _Buffer:
    """One part's bytes: in memory, or in a temporary file for a part larger than part_size.

    ``release`` is called once the part is sent (it returns a pooled buffer).
    """

    __slots__ = ("_digest", "_release", "body", "length")

    def __init__(
        self,
        body: bytes | bytearray | IO[bytes],
        *,
        length: int | None = None,
        digest: bytes | None = None,
        release: Callable[[], None] | None = None,
    ) -> None:
        self.body = body
        self.length = len(body) if isinstance(body, bytes | bytearray) else (length or 0)
        self._digest = digest
        self._release = release

    def digest(self) -> bytes:
        if self._digest is None:
            assert isinstance(self.body, bytes | bytearray)
            self._digest = hashlib.md5(self.body, usedforsecurity=False).digest()
        return self._digest

    def rewound(self) -> bytes | bytearray | IO[bytes]:
        if not isinstance(self.body, bytes | bytearray):
            self.body.seek(0)
        return self.body

    def close(self) -> None:
        if not isinstance(self.body, bytes | bytearray):
            self.body.close()
        release, self._release = self._release, None
        if release is not None:
            release()


class _Transfer:
    """The parts of one multipart copy: reader threads cut the source into parts, a pool of
    upload threads sends them.

    At most ``concurrency + read_streams`` parts exist at once (a semaphore of slots,
    taken by a reader before it reads a part and given back when the part is sent), and
    their buffers are reused from part to part: Python's allocator then keeps the
    process's memory at that many parts instead of fragmenting it with a fresh
    allocation per part.
    """

    def __init__(
        self,
        copier: CrossCopy,
        source: _Source,
        parts: list[tuple[int, int, int]],
        upload: Callable[[int, _Buffer], dict[str, Any]],
    ) -> None:
        self._source = source
        self._parts = parts
        self._upload = upload
        self._part_size = copier._part_size
        self._concurrency = copier._concurrency
        self._segments = _segments_of(parts, copier._read_streams)
        self._slots = threading.Semaphore(self._concurrency + len(self._segments))
        self._free: list[bytearray] = []  # buffers of part_size bytes, ready for reuse
        self._failed = threading.Event()
        self._lock = threading.Lock()
        self._error: BaseException | None = None
        self._done: dict[int, dict[str, Any]] = {}
        self._uploads: list[Future[None]] = []

    def run(self) -> dict[int, dict[str, Any]]:
        """Send every part; the result of each upload by part number. Raises the first
        error of any worker (or the caller's ``KeyboardInterrupt``)."""
        uploads = ThreadPoolExecutor(self._concurrency, thread_name_prefix="botwo-copy-put")
        readers = ThreadPoolExecutor(len(self._segments), thread_name_prefix="botwo-copy-get")
        try:
            futures = [
                readers.submit(self._read, i, segment, uploads) for i, segment in enumerate(self._segments)
            ]
            for future in futures:
                future.result()
            with self._lock:
                pending = list(self._uploads)
            for upload in pending:
                upload.result()
        except BaseException as err:
            self._fail(err)
            # The workers stop at their next part; wait for the requests in flight, so
            # that no part lands after the caller aborts the upload.
            readers.shutdown(wait=True, cancel_futures=True)
            uploads.shutdown(wait=True, cancel_futures=True)
            if isinstance(err, Exception) and self._error is not None and self._error is not err:
                raise self._error from None  # the root cause, not a worker that stopped after it
            raise
        finally:
            self._free.clear()
        readers.shutdown()
        uploads.shutdown()
        return self._done

    def _fail(self, err: BaseException) -> None:
        with self._lock:
            if self._error is None and not isinstance(err, _Cancelled):
                self._error = err
        self._failed.set()

    def _take_slot(self) -> None:
        while not self._slots.acquire(timeout=0.05):
            if self._failed.is_set():
                raise _Cancelled
        if self._failed.is_set():
            self._slots.release()
            raise _Cancelled

    def _buffer(self) -> bytearray:
        with self._lock:
            if self._free:
                return self._free.pop()
        return bytearray(self._part_size)

    def _recycle(self, buffer: bytearray | None) -> None:
        if buffer is not None:
            with self._lock:
                self._free.append(buffer)

    def _read(self, index: int, segment: list[tuple[int, int, int]], uploads: ThreadPoolExecutor) -> None:
        try:
            # The first segment is read from the first GET, which starts at byte 0.
            stream = (
                self._source.stream
                if index == 0
                else _open_range(self._source, segment[0][1], segment[-1][2] + 1)
            )
            try:
                for number, start, end in segment:
                    self._take_slot()
                    data = self._read_part(stream, end - start + 1)
                    future = uploads.submit(self._send, number, data)
                    with self._lock:
                        self._uploads.append(future)
                stream.finish()
            except BaseException:
                stream.close()
                raise
        except BaseException as err:
            self._fail(err)
            raise

    def _read_part(self, stream: _Stream, length: int) -> _Buffer:
        """Read one part, holding a slot that the part gives back once sent: into a reused
        buffer, or into a temporary file when it is larger than part_size."""
        pooled: bytearray | None = None
        try:
            if length > self._part_size:
                return stream.read_spooled(length, release=self._slots.release)
            pooled = self._buffer()
            stream.read_into(pooled, length)
        except BaseException:
            self._recycle(pooled)
            self._slots.release()
            raise
        if length < len(pooled):  # the last part: its own bytes, and the buffer back at once
            data = bytes(memoryview(pooled)[:length])
            self._recycle(pooled)
            return _Buffer(data, release=self._slots.release)
        kept = pooled

        def release() -> None:
            self._recycle(kept)
            self._slots.release()

        return _Buffer(kept, release=release)

    def _send(self, number: int, data: _Buffer) -> None:
        try:
            if self._failed.is_set():
                raise _Cancelled
            result = self._upload(number, data)
            with self._lock:
                self._done[number] = result
        except BaseException as err:
            self._fail(err)
            raise
        finally:
            data.close()


# -- pure helpers ----------------------------------------------------------------------


def _part_size_for(size: int, part_size: int) -> int:
    """``part_size``, grown (to a whole MiB) when the object would need more than S3's
    10,000 parts."""
    if -(-size // part_size) <= MAX_PARTS:
        return part_size
    needed = -(-size // MAX_PARTS)
    return -(-needed // MiB) * MiB


def _version(written: Mapping[str, Any]) -> str | None:
    """The version id of an object just written, ``None`` when the bucket has no versions.

    Some servers say ``"null"`` (the null version, as S3 calls an object of an unversioned
    bucket) and refuse it back as a ``versionId``; the latest object is then the one.
    """
    version = written.get("VersionId")
    return None if version in (None, "null") else str(version)


def _is_checksum_value(member: str) -> bool:
    return member.startswith("Checksum") and member not in (
        "ChecksumAlgorithm",
        "ChecksumType",
        "ChecksumMode",
    )


def _encrypted(response: Mapping[str, Any], params: Mapping[str, Any]) -> bool:
    """Whether the destination's ETags are not MD5s of the plaintext: SSE-KMS, SSE-C."""
    sse = str(response.get("ServerSideEncryption", ""))
    return sse.startswith("aws:kms") or "SSECustomerAlgorithm" in response or "SSECustomerAlgorithm" in params


def _etag_in(header: str, etag: str) -> bool:
    """Whether an If-Match / If-None-Match value names ``etag`` (quoted or not, a list, ``*``)."""
    bare = etag.strip('"')
    for candidate in header.split(","):
        value = candidate.strip()
        if value == "*" or value.removeprefix("W/").strip('"') == bare:
            return True
    return False


def _seconds(value: Any) -> datetime.datetime:
    """A timestamp as S3 compares it: aware, to the second (HTTP dates have no fraction)."""
    when: datetime.datetime = parse_to_aware_datetime(value)
    return when.replace(microsecond=0)


def _failed_condition(params: Mapping[str, Any], head: Mapping[str, Any]) -> str | None:
    """The copy condition (S3's header name) that the source fails, if any.

    S3's CopyObject rules: if-match true makes if-unmodified-since irrelevant (the copy
    goes ahead), and an if-none-match that fails fails the copy whatever
    if-modified-since says (RFC 7232 §6: If-None-Match takes precedence).
    """
    etag = head["ETag"]
    modified = _seconds(head["LastModified"])
    if_match = params.get("CopySourceIfMatch")
    unmodified_since = params.get("CopySourceIfUnmodifiedSince")
    if if_match is not None:
        if not _etag_in(if_match, etag):
            return "x-amz-copy-source-If-Match"
    elif unmodified_since is not None and modified > _seconds(unmodified_since):
        return "x-amz-copy-source-If-Unmodified-Since"
    if_none_match = params.get("CopySourceIfNoneMatch")
    modified_since = params.get("CopySourceIfModifiedSince")
    if if_none_match is not None:
        if _etag_in(if_none_match, etag):
            return "x-amz-copy-source-If-None-Match"
    elif modified_since is not None and modified <= _seconds(modified_since):
        return "x-amz-copy-source-If-Modified-Since"
    return None


def _response_date(response: Mapping[str, Any]) -> datetime.datetime:
    """The time of a response (its HTTP ``Date``), for a result without a LastModified."""
    headers = response.get("ResponseMetadata", {}).get("HTTPHeaders", {})
    date = headers.get("date")
    if date:
        parsed: datetime.datetime = parse_timestamp(date)
        return parsed
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _segments_of(parts: Iterable[tuple[int, int, int]], streams: int) -> list[list[tuple[int, int, int]]]:
    items = list(parts)
    size = -(-len(items) // max(1, streams))
    return [items[i : i + size] for i in range(0, len(items), size)]
