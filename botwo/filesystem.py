"""An fsspec filesystem over a botwo client: ``botwo://bucket/key`` for pandas, pyarrow, Dask.

::

    import pandas as pd
    df = pd.read_csv("botwo://example-old-bucket/data.csv")                   # ./botwo.toml & co.
    df = pd.read_csv("botwo://b/k.csv", storage_options={"config": "prod.toml"})
    df.to_parquet("botwo://b/out.parquet", storage_options={"client": s3})     # a botwo client

    import botwo.filesystem
    botwo.filesystem.route_s3_urls()        # the opt-in: s3:// and s3a:// URLs route too

Every request goes through the routing client, so every rule, rename, fallback read,
read-only route and merged listing applies. fsspec finds the ``botwo`` protocol through
the ``fsspec.specs`` entry point, with no import.

Theory of operation
-------------------
fsspec caches filesystem instances under a token made from ``str()`` of the storage
options, keeps those options on the instance (``storage_options``, ``to_json``) and
pickles an instance as ``(class, storage options)``. A boto3 client or a configuration
dict does not fit that: ``str()`` of a client does not tell two clients apart, and a
dict may hold secrets. So the metaclass turns the ``config``/``client`` options into one
:class:`Source` before fsspec sees them: its ``repr`` is a keyed hash (a per-process
random key) of what was configured, so equal configurations share an instance, different
ones never do and no secret can be read back from a token; it pickles as the
configuration (see :mod:`botwo._config`) or as the client (which must have been built
from configuration); ``to_dict``/``to_json`` give the configuration document. ``fsid``,
which fsspec wants the same across sessions, is a plain hash of the stores (endpoints,
regions) and the rules instead.

Writing: nothing half-written is ever committed. A file closed while an exception is
being handled (a ``with`` block, ``fsspec.open``'s or pandas' own ``close()`` on the way
out), or whose upload failed, is discarded; refusals (``"xb"`` on an existing object, a
bad block size, an unknown encoding) happen before the file is open, since fsspec's
``__del__`` commits an open file.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import hmac
import io
import json
import os
import secrets
import sys
import threading
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import attrs
from botocore.exceptions import BotoCoreError, ClientError

try:
    from fsspec.caching import ReadAheadCache
    from fsspec.callbacks import DEFAULT_CALLBACK, Callback
    from fsspec.config import apply_config
    from fsspec.spec import AbstractBufferedFile, AbstractFileSystem, _Cached
except ImportError as err:  # pragma: no cover - depends on the environment
    raise ImportError("botwo.filesystem needs fsspec: pip install 'botwo[fsspec]'") from err

from ._client import RoutingClient
from ._config import Settings, load
from ._factory import from_settings
from ._redact import SECRET_FIELDS, safe_endpoint, scrub_client_urls
from ._s3 import MAX_DELETE_KEYS, MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE, MISSING
from ._values import CopyConfig
from .errors import ConfigError, served

__all__ = ["BotwoFile", "BotwoFileSystem", "BotwoS3FileSystem", "Source", "route_s3_urls"]

#: S3's limits (from :mod:`botwo._s3`): parts of 5 MiB (but the last) to 5 GiB, at most
#: 10,000 parts; 1,000 keys per bulk delete.
MIN_PART = MIN_PART_SIZE
MAX_PART = MAX_PART_SIZE
DELETE_BATCH = MAX_DELETE_KEYS

# -- errors: S3's codes as the OSErrors fsspec users catch ----------------------------------

_NOT_FOUND = MISSING
_DENIED = frozenset({"AccessDenied", "403", "Forbidden", "InvalidAccessKeyId", "SignatureDoesNotMatch"})
_EXISTS = frozenset({"BucketAlreadyExists", "BucketAlreadyOwnedByYou", "PreconditionFailed"})
_NOT_EMPTY = frozenset({"BucketNotEmpty"})
_INVALID = frozenset({"InvalidRange", "InvalidArgument", "InvalidBucketName", "KeyTooLongError"})


def os_error(err: ClientError, path: str) -> Exception:
    """The ``OSError`` that an fsspec caller expects for an S3 error on ``path``."""
    code = str(err.response.get("Error", {}).get("Code", ""))
    message = str(err)  # OSError's str adds the path: "[Errno 2] <message>: 'bucket/key'"
    if code in _NOT_FOUND:
        return FileNotFoundError(errno.ENOENT, message, path)
    if code in _DENIED:  # a botwo.ReadOnlyError too: its code is AccessDenied
        return PermissionError(errno.EACCES, message, path)
    if code in _EXISTS:
        return FileExistsError(errno.EEXIST, message, path)
    if code in _NOT_EMPTY:
        return OSError(errno.ENOTEMPTY, message, path)
    if code in _INVALID:
        return ValueError(f"{path}: {message}")
    return OSError(errno.EIO, message, path)


def split_path(path: str) -> tuple[str, str]:
    """``"bucket/some/key"`` -> ``("bucket", "some/key")``; ``"bucket"`` -> ``("bucket", "")``."""
    bucket, _, key = path.partition("/")
    return bucket, key


# -- the storage options ----------------------------------------------------------------------

_TOKEN_KEY = secrets.token_bytes(32)  # per process: tokens cannot be brute-forced elsewhere


class Source:
    """Where a filesystem's client comes from: configuration, or a botwo client.

    Its ``repr`` is the filesystem's cache identity (no secret in it); it pickles as the
    configuration, or as the client (which pickles only if built from configuration).
    """

    def __init__(self, settings: Settings | None = None, client: RoutingClient | None = None) -> None:
        if (settings is None) == (client is None):
            raise ConfigError("a botwo filesystem needs one of config=... or client=...")
        self.settings = settings if client is None else client.settings
        self._client = client
        self._given_client = client is not None  # else _client is built from the settings
        self._lock = threading.Lock()
        if client is not None:
            # The cached filesystem keeps the client alive, so its id is not reused.
            self._identity = f"client-{id(client):x}"
        else:
            assert settings is not None
            self._identity = _settings_digest(settings)

    @classmethod
    def of(cls, config: Any = None, client: Any = None) -> Source:
        if isinstance(config, Source):
            return config
        if client is not None:
            if config is not None:
                raise ConfigError("storage_options: give config=... or client=..., not both")
            if not isinstance(client, RoutingClient):
                raise ConfigError(
                    f"storage_options client=... must be a botwo client (botwo.client(...)), "
                    f"got {type(client).__name__}"
                )
            return cls(client=client)
        return cls(settings=load(config))

    def client(self) -> RoutingClient:
        """The routing client, built on first use."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    assert self.settings is not None
                    self._client = from_settings(self.settings)
        return self._client

    def document(self) -> dict[str, Any]:
        """The configuration document (``${VAR}`` unexpanded) for ``to_dict``/``to_json``;
        a client's own ``copy_config`` is its ``copy`` table."""
        if self.settings is None:
            raise TypeError(
                "a botwo filesystem over a client built from boto3 client objects cannot be "
                "serialized; build the client from configuration, or pass config=..."
            )
        document: dict[str, Any] = json.loads(json.dumps(self.settings.document))
        copy_config = _own_copy_config(self.client()) if self._given_client else None
        if copy_config is not None:
            document["copy"] = attrs.asdict(copy_config)
        return document

    def __repr__(self) -> str:
        return f"botwo.Source({self._identity})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        if not self._given_client:
            # As the configuration, even once its client is built: the other side then has
            # the same identity (one cached filesystem per configuration, not per unpickle).
            return (Source, (self.settings,))
        assert self._client is not None
        if self._client.settings is None:
            raise TypeError(
                "a botwo filesystem over a client built from boto3 client objects cannot be "
                "pickled; build the client from configuration (botwo.client('s3', config=...)) "
                "or pass storage_options={'config': ...}"
            )
        # The configuration and copy settings, not the client: unpickling then builds
        # boto3 clients only when this process has no filesystem for them yet.
        return (_source_of_client, (self._client.settings, _own_copy_config(self._client)))


def _own_copy_config(client: RoutingClient) -> CopyConfig | None:
    """The client's ``copy_config`` where it is not what its configuration says."""
    settings = client.settings
    configured = (settings.copy if settings is not None else None) or CopyConfig()
    return None if client.copy_config == configured else client.copy_config


#: Sources of unpickled clients, one per configuration (see _source_of_client).
_UNPICKLED: dict[str, Source] = {}
_UNPICKLED_LOCK = threading.Lock()


def _source_of_client(settings: Settings, copy_config: CopyConfig | None) -> Source:
    """The source of a filesystem over a client, unpickled: one per configuration and copy
    settings in this process. A filesystem unpickled for every task (Dask, a process pool)
    is then fsspec's cached instance, not a new instance and client kept for each task."""
    key = _settings_digest(settings) + repr(copy_config)
    with _UNPICKLED_LOCK:
        source = _UNPICKLED.get(key)
        if source is None:
            source = _UNPICKLED[key] = Source(client=from_settings(settings, copy_config))
    return source


def _settings_digest(settings: Settings) -> str:
    """A keyed hash of everything that makes the clients and rules: equal for equal
    configurations, different otherwise, and useless to anyone without this process's key."""
    resolved = {
        name: [dict(spec.options), spec.profile_name, dict(spec.config_options)]
        for name, spec in settings.clients.items()
    }
    blob = json.dumps(
        [resolved, [r.to_dict() for r in settings.rules], repr(settings.copy)], sort_keys=True, default=str
    )
    return "config-" + hmac.new(_TOKEN_KEY, blob.encode(), hashlib.sha256).hexdigest()[:32]


class _SourcedCache(_Cached):
    """fsspec's instance cache, with ``config``/``client`` turned into a :class:`Source` first.

    Where the configuration comes from, first found: the storage options; the one given to
    :func:`route_s3_urls` (``s3://`` only); fsspec's own configuration for the protocol
    (``fsspec.config.conf["botwo"]``, ``FSSPEC_BOTWO_CONFIG``, fsspec's config files);
    the file ``botwo.client("s3")`` reads.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        if args:
            raise TypeError(f"{cls.__name__} takes keyword storage options only (config=..., client=...)")
        source = kwargs.pop("source", None)
        config, client = kwargs.pop("config", None), kwargs.pop("client", None)
        # fsspec adds its configuration's options to the storage options after this (in
        # _Cached.__call__): a config= or client= there is taken here and masked there.
        configured = {k: v for k, v in apply_config(cls, {}).items() if k in ("config", "client")}
        if not isinstance(source, Source):
            default = getattr(cls, "default_settings", None)
            if config is None and client is None:
                if default is not None:
                    config = default
                else:
                    config, client = configured.get("config"), configured.get("client")
            source = Source.of(config, client)
        masked = dict.fromkeys(configured)
        return super().__call__(source=source, **masked, **kwargs)


# -- the filesystem ---------------------------------------------------------------------------


def _info(bucket: str, item: Mapping[str, Any]) -> dict[str, Any]:
    """A listing entry or a HEAD answer as an fsspec file entry."""
    etag = item.get("ETag")
    out: dict[str, Any] = {
        "name": f"{bucket}/{item['Key']}",
        "size": item.get("Size", item.get("ContentLength", 0)),
        "type": "file",
        "ETag": etag,
        "LastModified": item.get("LastModified"),
    }
    for field in ("StorageClass", "VersionId", "ContentType", "Metadata", "IsLatest"):
        if field in item:
            out[field] = item[field]
    return out


def _dir(name: str) -> dict[str, Any]:
    return {"name": name, "size": 0, "type": "directory", "StorageClass": "DIRECTORY"}


class BotwoFileSystem(AbstractFileSystem, metaclass=_SourcedCache):
    """fsspec's ``AbstractFileSystem`` over a botwo routing client (protocol ``botwo``).

    Storage options: ``config`` (a path, a dict or :class:`botwo.Settings`; default: the
    file ``botwo.client("s3")`` reads) or ``client`` (a botwo client); ``version_aware``
    (paths may carry ``?versionId=...``); ``default_block_size`` (read-ahead and multipart
    part size, default 5 MiB).
    """

    protocol: ClassVar[str | tuple[str, ...]] = ("botwo",)
    root_marker = ""
    blocksize = 5 * 2**20

    #: fsspec's own options, accepted and passed on.
    _FSSPEC_OPTIONS = frozenset(
        {
            "use_listings_cache",
            "listings_expiry_time",
            "max_paths",
            "skip_instance_cache",
            "asynchronous",
            "loop",
        }
    )

    def __init__(
        self,
        source: Source,
        version_aware: bool = False,
        default_block_size: int | None = None,
        **kwargs: Any,
    ) -> None:
        for masked in ("config", "client"):  # None: fsspec's configuration had it (see _SourcedCache)
            if kwargs.get(masked, "") is None:
                del kwargs[masked]
        unknown = sorted(set(kwargs) - self._FSSPEC_OPTIONS)
        if unknown:
            raise ConfigError(
                f"unknown storage options for the botwo filesystem: {', '.join(unknown)}. It takes "
                "config (a path or a dict) or client (a botwo client), version_aware and "
                "default_block_size; backends, endpoints and credentials come from the botwo "
                "configuration"
            )
        super().__init__(**kwargs)
        self.source = source
        self.client = source.client()
        self.version_aware = version_aware
        if default_block_size is not None:
            if default_block_size < MIN_PART:
                raise ConfigError(f"default_block_size must be at least {MIN_PART} (5 MiB, S3's part size)")
            self.blocksize = default_block_size

    # -- paths ---------------------------------------------------------------------

    @classmethod
    def _strip_protocol(cls, path: Any) -> Any:
        stripped = super()._strip_protocol(path)  # a list: each item stripped here
        return stripped if isinstance(stripped, list) else stripped.lstrip("/")

    def _split(self, path: str) -> tuple[str, str, str | None]:
        """bucket, key and version of a path (``?versionId=`` only when version-aware)."""
        path = self._strip_protocol(path)
        version = None
        if self.version_aware and "?versionId=" in path:
            path, _, version = path.partition("?versionId=")
        bucket, key = split_path(path)
        if not bucket:
            raise ValueError(f"no bucket in path {path!r}")
        return bucket, key, version

    def _call(self, path: str, method: str, **params: Any) -> Any:
        try:
            return getattr(self.client, method)(**params)
        except ClientError as err:
            raise os_error(err, path) from err

    # -- listing ---------------------------------------------------------------------

    def _list(self, bucket: str, prefix: str, delimiter: str) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("list_objects_v2")
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter:
            params["Delimiter"] = delimiter
        try:
            for page in paginator.paginate(**params):
                for common in page.get("CommonPrefixes", ()):
                    yield _dir(f"{bucket}/{common['Prefix'].rstrip('/')}")
                for item in page.get("Contents", ()):
                    yield _info(bucket, item)
        except ClientError as err:
            raise os_error(err, f"{bucket}/{prefix}".rstrip("/")) from err

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> list[Any]:
        path = self._strip_protocol(path)
        if path == "":
            buckets = self._call("", "list_buckets").get("Buckets", [])
            entries = [_dir(b["Name"]) for b in buckets]
        else:
            bucket, key, _ = self._split(path)
            prefix = f"{key}/" if key else ""
            itself = f"{bucket}/{key}".rstrip("/")
            entries = [e for e in self._list(bucket, prefix, "/") if e["name"].rstrip("/") != itself]
            if not entries:
                if key:
                    entries = [self.info(path)]  # a file lists as itself; else FileNotFoundError
                else:
                    self._call(bucket, "head_bucket", Bucket=bucket)  # an empty bucket is []
        entries.sort(key=lambda e: e["name"])
        return entries if detail else [e["name"] for e in entries]

    def find(
        self,
        path: str,
        maxdepth: int | None = None,
        withdirs: bool = False,
        detail: bool = False,
        prefix: str = "",
        **kwargs: Any,
    ) -> Any:
        """Every file below ``path`` (one flat listing: no walk per directory)."""
        if maxdepth is not None:
            return super().find(path, maxdepth=maxdepth, withdirs=withdirs, detail=detail, **kwargs)
        path = self._strip_protocol(path)
        if path == "":
            out: dict[str, dict[str, Any]] = {}
            for bucket in self.ls("", detail=False):
                out.update(self.find(bucket, withdirs=withdirs, detail=True))
                if withdirs:
                    out[bucket] = _dir(bucket)
            return self._found(out, detail)
        bucket, key, _ = self._split(path)
        base = f"{key}/" if key else ""
        out = {}
        for entry in self._list(bucket, base + prefix, ""):
            name = entry["name"]
            if name.endswith("/"):  # a "directory marker" object
                if withdirs:
                    out[name.rstrip("/")] = _dir(name.rstrip("/"))
                continue
            out[name] = entry
            if withdirs:
                parent = name.rsplit("/", 1)[0]
                while len(parent) > len(path) and parent not in out:
                    out[parent] = _dir(parent)
                    parent = parent.rsplit("/", 1)[0]
        if withdirs and out and key:
            out[path] = _dir(path)
        if not out and key and not prefix:
            try:
                info = self.info(path)
            except FileNotFoundError:
                info = None
            if info is not None and info["type"] == "file":
                out[path] = info
        return self._found(out, detail)

    @staticmethod
    def _found(out: dict[str, dict[str, Any]], detail: bool) -> Any:
        names = sorted(out)
        return {n: out[n] for n in names} if detail else names

    def info(self, path: str, **kwargs: Any) -> dict[str, Any]:
        path = self._strip_protocol(path)
        if path == "":
            return _dir("")
        bucket, key, version = self._split(path)
        version = kwargs.get("version_id", version)
        if not key:
            self._call(bucket, "head_bucket", Bucket=bucket)
            return _dir(bucket)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        try:
            head = self.client.head_object(**params)
        except ClientError as err:
            error = os_error(err, path)
            if not isinstance(error, FileNotFoundError) or version:
                raise error from err
        else:
            return _info(bucket, {**head, "Key": key})
        # Not an object: a "directory" if some key starts with key + "/".
        found = self._call(path, "list_objects_v2", Bucket=bucket, Prefix=key.rstrip("/") + "/", MaxKeys=1)
        if found.get("KeyCount", 0) or found.get("CommonPrefixes"):
            return _dir(path)
        raise FileNotFoundError(2, "No such object or prefix", path)

    def exists(self, path: str, **kwargs: Any) -> bool:
        try:
            self.info(path, **kwargs)
        except (FileNotFoundError, PermissionError):
            return False
        return True

    def checksum(self, path: str) -> int:
        return int(hashlib.sha256(self.ukey(path).encode()).hexdigest()[:16], 16)

    def ukey(self, path: str) -> str:
        """The object's ETag (with its version id when the bucket has versions)."""
        info = self.info(path)
        if info["type"] != "file":
            raise IsADirectoryError(21, f"{path} is a directory", path)
        return f"{info.get('ETag', '')}{info.get('VersionId') or ''}"

    def modified(self, path: str) -> datetime:
        info = self.info(path)
        if info["type"] != "file":
            raise IsADirectoryError(21, f"{path} is a directory", path)
        modified: datetime = info["LastModified"]
        return modified

    def object_versions(self, path: str) -> list[dict[str, Any]]:
        """Every version of an object, newest first, as file entries with ``VersionId``."""
        bucket, key, _ = self._split(path)
        out: list[dict[str, Any]] = []
        paginator = self.client.get_paginator("list_object_versions")
        try:
            for page in paginator.paginate(Bucket=bucket, Prefix=key):
                out.extend(_info(bucket, v) for v in page.get("Versions", ()) if v["Key"] == key)
        except ClientError as err:
            raise os_error(err, path) from err
        return out

    # -- reading -----------------------------------------------------------------------

    def cat_file(self, path: str, start: int | None = None, end: int | None = None, **kwargs: Any) -> bytes:
        bucket, key, version = self._split(path)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        if start is not None or end is not None:
            first, last = start or 0, end
            if first < 0 or (last is not None and last < 0):
                size = self.info(path)["size"]
                first = max(size + first, 0) if first < 0 else first
                last = size + last if last is not None and last < 0 else last
            if last is not None and last <= first:
                return b""
            params["Range"] = f"bytes={first}-" + ("" if last is None else str(last - 1))
        try:
            response = self.client.get_object(**params)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") == "InvalidRange":
                return b""  # a range starting at or past the end reads nothing, as a file would
            raise os_error(err, path) from err
        data: bytes = response["Body"].read()
        return data

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: int | None = None,
        autocommit: bool = True,
        cache_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> BotwoFile:
        return BotwoFile(
            self,
            path,
            mode,
            block_size=block_size or self.blocksize,
            autocommit=autocommit,
            cache_options=cache_options,
            **kwargs,
        )

    # -- writing -----------------------------------------------------------------------

    def open(self, path: str, mode: str = "rb", **kwargs: Any) -> Any:
        """fsspec's ``open``, with a bad ``encoding`` or ``newline`` refused before the file
        is open (fsspec's ``__del__`` would commit the file left behind)."""
        if "b" not in mode:
            text = {k: kwargs[k] for k in ("encoding", "errors", "newline") if k in kwargs}
            io.TextIOWrapper(io.BytesIO(), **text)  # raises what the file's wrapper would
        return super().open(path, mode, **kwargs)

    def pipe_file(self, path: str, value: bytes, mode: str = "overwrite", **kwargs: Any) -> None:
        """One PUT (a multipart upload when larger than a block); deferred to the end of
        the transaction inside ``fs.transaction``, like a file opened there."""
        bucket, key, _ = self._split(path)
        if mode == "create" and self.exists(path):
            raise FileExistsError(17, f"{path} exists", path)
        if len(value) <= self.blocksize and not self._intrans:
            self._call(path, "put_object", Bucket=bucket, Key=key, Body=value, **kwargs)
            return
        with self.open(path, "wb", **kwargs) as f:
            f.write(value)

    def put_file(
        self,
        lpath: str,
        rpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        mode: str = "overwrite",
        **kwargs: Any,
    ) -> None:
        """boto3's managed upload (parallel parts); inside ``fs.transaction``, a file written
        through :meth:`open`, so that it appears when the transaction ends."""
        if os.path.isdir(lpath):
            return  # object stores have no directories to create
        if mode == "create" and self.exists(rpath):
            raise FileExistsError(17, f"{rpath} exists", rpath)
        if self._intrans:
            with open(lpath, "rb") as source, self.open(rpath, "wb", **kwargs) as target:
                callback.set_size(os.fstat(source.fileno()).st_size)
                while block := source.read(self.blocksize):
                    target.write(block)
                    callback.relative_update(len(block))
            return
        bucket, key, _ = self._split(rpath)
        callback.set_size(os.path.getsize(lpath))
        try:
            self.client.upload_file(
                lpath, bucket, key, Callback=callback.relative_update, ExtraArgs=kwargs or None
            )
        except ClientError as err:
            raise os_error(err, rpath) from err
        except Exception as err:  # s3transfer wraps the ClientError
            cause = err.__cause__ or err.__context__
            if isinstance(cause, ClientError):
                raise os_error(cause, rpath) from err
            raise

    def get_file(
        self,
        rpath: str,
        lpath: str,
        callback: Callback = DEFAULT_CALLBACK,
        outfile: Any = None,
        **kwargs: Any,
    ) -> None:
        if self.isdir(rpath):
            os.makedirs(lpath, exist_ok=True)
            return
        super().get_file(rpath, lpath, callback=callback, outfile=outfile, **kwargs)

    def cp_file(self, path1: str, path2: str, **kwargs: Any) -> None:
        """A copy through the client: server-side on one backend, streamed between two."""
        bucket1, key1, version = self._split(path1)
        bucket2, key2, _ = self._split(path2)
        if not key1:
            return  # a bucket: directories are implicit
        source: dict[str, Any] = {"Bucket": bucket1, "Key": key1}
        if version:
            source["VersionId"] = version
        try:
            self.client.copy(source, bucket2, key2, ExtraArgs=kwargs or None)
        except ClientError as err:
            error = os_error(err, path1 if _is_source_error(err) else path2)
            if isinstance(error, FileNotFoundError) and self.isdir(path1):
                return  # a "directory": nothing to copy
            raise error from err

    def touch(self, path: str, truncate: bool = True, **kwargs: Any) -> None:
        if not truncate and self.exists(path):
            raise ValueError("an object cannot be touched without truncating it: S3 has no mtime to update")
        self.pipe_file(path, b"", **kwargs)

    def mkdir(self, path: str, create_parents: bool = True, **kwargs: Any) -> None:
        """A bucket is created when the path is a bucket; prefixes need nothing."""
        bucket, key, _ = self._split(path)
        if key:
            if create_parents and not self._bucket_exists(bucket):
                self._call(bucket, "create_bucket", Bucket=bucket, **kwargs)
            return
        self._call(bucket, "create_bucket", Bucket=bucket, **kwargs)

    def makedirs(self, path: str, exist_ok: bool = False) -> None:
        bucket, key, _ = self._split(path)
        if not self._bucket_exists(bucket):
            self._call(bucket, "create_bucket", Bucket=bucket)
        elif not key and not exist_ok:
            raise FileExistsError(17, f"bucket {bucket} exists", path)

    def _bucket_exists(self, bucket: str) -> bool:
        try:
            self.client.head_bucket(Bucket=bucket)
        except ClientError as err:
            if isinstance(os_error(err, bucket), FileNotFoundError):
                return False
            raise os_error(err, bucket) from err
        return True

    def rmdir(self, path: str) -> None:
        """Remove an empty directory: a bucket is deleted; a "directory" is nothing to
        delete. Either with objects in it is not empty (``OSError`` ``ENOTEMPTY``, as
        ``os.rmdir`` says), as the caller sees it: a split bucket whose own route's
        bucket is empty still has the objects that other routes hold."""
        bucket, key, _ = self._split(path)
        prefix = f"{key}/" if key else ""
        found = self._call(path, "list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)
        if found.get("KeyCount", 0):
            raise OSError(errno.ENOTEMPTY, f"{path}: directory not empty (rm(path, recursive=True))", path)
        if not key:
            self._call(bucket, "delete_bucket", Bucket=bucket)

    def rm_file(self, path: str) -> None:
        bucket, key, version = self._split(path)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key}
        if version:
            params["VersionId"] = version
        self._call(path, "delete_object", **params)

    _rm = rm_file

    def expand_path(
        self,
        path: Any,
        recursive: bool = False,
        maxdepth: int | None = None,
        assume_literal: bool = False,
        **kwargs: Any,
    ) -> list[str]:
        """fsspec's, except that a path with a version id (``key?versionId=...``, on a
        version-aware filesystem) names that one version: its ``?`` is no glob character."""
        paths = [path] if isinstance(path, str | os.PathLike) else list(path)
        versions = [p for p in paths if self.version_aware and "?versionId=" in os.fspath(p)]
        if not versions:
            return list(super().expand_path(path, recursive, maxdepth, assume_literal, **kwargs))
        out = {self._strip_protocol(p) for p in versions}
        rest = [p for p in paths if p not in versions]
        if rest:
            out.update(super().expand_path(rest, recursive, maxdepth, assume_literal, **kwargs))
        return sorted(out)

    def rm(self, path: Any, recursive: bool = False, maxdepth: int | None = None) -> None:
        """Bulk deletes: ``delete_objects`` per bucket, 1,000 keys at a time (a path with a
        version id deletes that version)."""
        paths = self.expand_path(path, recursive=recursive, maxdepth=maxdepth)
        if recursive:
            paths = self._objects_only(paths)
        by_bucket: dict[str, list[dict[str, str]]] = {}
        buckets = []
        for p in paths:
            bucket, key, version = self._split(p)
            if key:
                item = {"Key": key} if version is None else {"Key": key, "VersionId": version}
                by_bucket.setdefault(bucket, []).append(item)
            else:
                buckets.append(bucket)
        for bucket, items in by_bucket.items():
            for i in range(0, len(items), DELETE_BATCH):
                batch = items[i : i + DELETE_BATCH]
                answer = self._call(
                    bucket, "delete_objects", Bucket=bucket, Delete={"Objects": batch, "Quiet": True}
                )
                for error in answer.get("Errors", ()):
                    failed = f"{bucket}/{error.get('Key')}"
                    raise os_error(ClientError({"Error": error}, "DeleteObjects"), failed)
        if recursive:
            for bucket in buckets:
                self.rmdir(bucket)

    def mv(
        self, path1: Any, path2: Any, recursive: bool = False, maxdepth: int | None = None, **kwargs: Any
    ) -> None:
        """fsspec's move (copy, then delete the sources), refused before anything is copied
        when a source is on a read-only route: the deletes that finish a move could never
        be sent there, and a refused move must not leave a copy behind."""
        if path1 != path2 and any(rule.readonly for rule in self.client.rules):
            for p in self.expand_path(path1, recursive=recursive, maxdepth=maxdepth):
                bucket, key, _ = self._split(p)
                decision = self.client.route(bucket, key or None)
                if decision.readonly:
                    raise PermissionError(
                        errno.EACCES,
                        f"{p}: read-only (rule {decision.rule_index}, bucket_name="
                        f"{decision.rule.bucket_name!r}, has readonly: true); nothing was moved",
                        p,
                    )
        super().mv(path1, path2, recursive=recursive, maxdepth=maxdepth, **kwargs)

    def _objects_only(self, paths: list[str]) -> list[str]:
        """``paths`` without the "directories" that a recursive expansion adds: deleting
        such a key is harmless on S3 but leaves a delete marker in a versioned bucket.
        A name that is both a directory and an object stays."""
        parents = {p.rsplit("/", 1)[0] for p in paths if "/" in p}
        out = []
        for p in paths:
            bucket, key, version = self._split(p)
            if key and version is None and p in parents:
                try:
                    self.client.head_object(Bucket=bucket, Key=key)
                except ClientError as err:
                    if isinstance(os_error(err, p), FileNotFoundError):
                        continue
                    raise os_error(err, p) from err
            out.append(p)
        return out

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        """A presigned GET URL, signed by the backend that serves the path."""
        bucket, key, version = self._split(path)
        params: dict[str, Any] = {"Bucket": bucket, "Key": key, **kwargs}
        if version:
            params["VersionId"] = version
        url: str = self.client.generate_presigned_url("get_object", Params=params, ExpiresIn=expiration)
        return url

    # -- serialization ----------------------------------------------------------------------

    def to_dict(self, *, include_password: bool = True) -> dict[str, Any]:
        """The configuration document, ``${VAR}`` references unexpanded (never a secret from
        the environment); ``include_password=False`` leaves out the clients' secret keys
        and session tokens, even as ``${VAR}`` references, and the ``user:password@`` of every
        URL (endpoints, proxies)."""
        cls = type(self)
        options = {k: v for k, v in self.storage_options.items() if k not in ("source", "config", "client")}
        document = self.source.document()
        if not include_password:
            for table in document["clients"].values():
                for field in SECRET_FIELDS:
                    table.pop(field, None)
            # The endpoint's and proxies' user:password@ (botocore takes no other URL).
            document["clients"] = {name: scrub_client_urls(t) for name, t in document["clients"].items()}
        return {
            "cls": f"{cls.__module__}:{cls.__name__}",
            "protocol": self.protocol if isinstance(self.protocol, str) else self.protocol[0],
            "args": [],
            "config": document,
            **options,
        }

    def to_json(self, *, include_password: bool = True) -> str:
        return json.dumps(self.to_dict(include_password=include_password))

    @property
    def fsid(self) -> str:
        """The same in every process for the same stores and rules (fsspec: "persistent
        ... across sessions"): a hash of the rules and each client's endpoint and region,
        no credentials. The cache token, unlike it, is keyed per process."""
        stores = {
            name: [safe_endpoint(backend.meta.endpoint_url), backend.meta.region_name]
            for name, backend in self.client.backends.items()
        }
        blob = json.dumps([stores, [r.to_dict() for r in self.client.rules]], sort_keys=True)
        return "botwo-" + hashlib.sha256(blob.encode()).hexdigest()[:32]


def _is_source_error(err: ClientError) -> bool:
    """Whether a failed copy's error is about its source (the path named in the OSError)."""
    if err.operation_name in ("HeadObject", "GetObject"):  # a managed copy reads its source
        return True
    record = served(err)
    return record is not None and record.side == "source"


class BotwoS3FileSystem(BotwoFileSystem):
    """The same filesystem answering ``s3://`` and ``s3a://`` URLs (see :func:`route_s3_urls`)."""

    protocol = ("s3", "s3a")
    #: The configuration given to :func:`route_s3_urls`, used when no storage option names one.
    default_settings: ClassVar[Settings | None] = None


def route_s3_urls(config: Any = None) -> None:
    """Make unchanged ``s3://`` and ``s3a://`` URLs in fsspec, pandas, pyarrow and Dask go
    through botwo, configured by ``config`` (a path, a dict or :class:`botwo.Settings`;
    default: the file ``botwo.client("s3")`` reads), for code whose paths cannot change.

    Storage options that such code passes for s3fs (``anon``, ``key``, ``secret``,
    ``endpoint_url``, ``client_kwargs``, ...) are refused with a clear error: botwo's
    configuration decides the backends and their credentials.
    """
    import fsspec

    BotwoS3FileSystem.default_settings = load(config)
    BotwoS3FileSystem.clear_instance_cache()
    for protocol in ("s3", "s3a"):
        fsspec.register_implementation(protocol, BotwoS3FileSystem, clobber=True)


# -- files ------------------------------------------------------------------------------------


def part_size(block: int, number: int) -> int:
    """The size of part ``number`` (from 1) of an upload written in blocks of ``block``
    bytes: one block for parts 1 to 1,000, two for 1,001 to 2,000, and so on to ten for
    9,001 to 10,000, S3's last part (55,000 blocks in all: about 268 GiB in blocks of
    5 MiB); never more than S3's 5 GiB."""
    return min(block * (1 + (number - 1) // (MAX_PARTS // 10)), MAX_PART)


class BotwoFile(AbstractBufferedFile):
    """A file of a botwo filesystem.

    Reading: one GET streamed for as long as reads are sequential, a new ranged GET after
    a jump; small reads go through a read-ahead block, large ones straight to the caller
    (no copy kept). Writing: one PUT when the whole
    file fits in a block, else a multipart upload whose parts go as the buffer fills (see
    :func:`part_size`). With ``autocommit=False`` (fsspec transactions) the object appears
    on :meth:`commit`. A file closed while an exception is being handled, other than one
    being handled when it was opened, is discarded, its upload aborted: nothing
    half-written is left behind, whoever closes it (a ``with`` block, ``fsspec.open``,
    pandas).
    """

    fs: BotwoFileSystem
    blocksize: int
    buffer: io.BytesIO
    DEFAULT_BLOCK_SIZE = 5 * 2**20

    def __init__(self, fs: BotwoFileSystem, path: str, mode: str = "rb", **kwargs: Any) -> None:
        # An exception already being handled (a file written in an ``except`` block) does
        # not discard the file when it is closed; any other one does (see close()).
        self._handled_at_open = sys.exc_info()[1]
        bucket, key, version = fs._split(path)
        if not key:
            raise ValueError(f"{path!r} names a bucket, not an object")
        existing: dict[str, Any] | None = None
        if mode == "ab":
            # S3 cannot append: the object is rewritten, its current bytes first.
            try:
                existing = fs.info(path)
            except FileNotFoundError:
                existing = None
            if existing is not None and existing["type"] != "file":
                raise IsADirectoryError(errno.EISDIR, f"{path} is a directory", path)
        # Refusals come before fsspec's __init__: from then on the file is open for writing,
        # and fsspec's __del__ closes (commits) an open file, which would PUT an empty
        # object (over an existing one, for "xb").
        if mode != "rb":
            block_size = kwargs.get("block_size")
            if isinstance(block_size, int) and block_size < MIN_PART:
                raise ValueError(
                    f"block_size for writing must be at least {MIN_PART} (5 MiB, S3's part size)"
                )
            if mode == "xb" and fs.exists(path):
                raise FileExistsError(17, f"{path} exists", path)
        self.bucket, self.key, self.version_id = bucket, key, version
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self._pending: bytes | None = None
        # S3 parameters for the PUT or the upload (ContentType=..., Metadata=...).
        self._extra = {k: kwargs.pop(k) for k in list(kwargs) if k[:1].isupper()}
        cache_type = kwargs.get("cache_type")
        super().__init__(fs, path, mode, **kwargs)
        if mode == "rb" and self._details is not None and self._details["type"] != "file":
            # A "directory" (a prefix) would read as b"": refuse it as a file system does.
            raise IsADirectoryError(errno.EISDIR, f"{path} is a directory", path)
        if mode == "rb":
            self._start_reading(cache_type)
        if mode != "rb":
            # The block the parts are made of; blocksize is then the size of the next part.
            self._block = self.blocksize = max(self.blocksize, MIN_PART)
        if existing is not None and existing["size"]:
            try:
                self._start_with(existing)
            except BaseException:
                self.discard()
                self.closed = True  # nothing to commit, now or when collected
                raise

    def _start_with(self, existing: Mapping[str, Any]) -> None:
        """Appending: the object's current bytes become the start of the new one. A small
        object is read into the buffer; a larger one is copied into the first parts of a
        multipart upload on the backend (``upload_part_copy``, no bytes through here
        unless the rules put the object's source on another client)."""
        size: int = existing["size"]
        if size < MIN_PART:
            self.buffer.write(self.fs.cat_file(self.path))
        else:
            started = self.fs._call(
                self.path, "create_multipart_upload", Bucket=self.bucket, Key=self.key, **self._extra
            )
            self.upload_id = started["UploadId"]
            count = -(-size // MAX_PART)
            step = -(-size // count)  # equal ranges of 5 GiB at most, each >= 5 MiB
            for first in range(0, size, step):
                last = min(size, first + step) - 1
                number = len(self.parts) + 1
                copy_params: dict[str, Any] = {}
                if existing.get("ETag"):
                    copy_params["CopySourceIfMatch"] = existing["ETag"]
                answer = self.fs._call(
                    self.path,
                    "upload_part_copy",
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self.upload_id,
                    PartNumber=number,
                    CopySource={"Bucket": self.bucket, "Key": self.key},
                    CopySourceRange=f"bytes={first}-{last}",
                    **copy_params,
                )
                self.parts.append({"PartNumber": number, "ETag": answer["CopyPartResult"]["ETag"]})
            self.offset = size
        self.loc = size

    # -- reading: one streamed GET for as long as the reads are sequential --------------

    def _start_reading(self, cache_type: str | None) -> None:
        self._body: Any = None
        self._body_pos = 0
        self._body_end = 0
        self._etag = (self._details or {}).get("ETag")
        if cache_type is None:
            self.cache = _LargeReadsDirect(self.blocksize, self._fetch_range, self.size)

    def _fetch_range(self, start: int, end: int) -> bytes:
        """Bytes ``[start, end)``, read from the open GET when it is already there.

        A read where the last one ended goes on reading the same response. Otherwise a new
        GET asks for the range and a block more; and once reads have continued past such
        a GET, the next one asks for the rest of the object. A read within the first
        block also asks for the rest: it nearly always starts a scan (a CSV read, the
        column chunks of a Parquet file after its 4-byte magic). So a scan costs one
        request however it is chunked, and a jump costs a block.
        """
        end = min(end, self.size)
        chunks = []
        pos = start
        while pos < end:
            if self._body is None or self._body_pos != pos:
                self._open_body(pos, end)
            chunk = self._read_body(min(end, self._body_end) - pos)
            chunks.append(chunk)
            pos += len(chunk)
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    def _open_body(self, start: int, end: int) -> None:
        continuing = self._body_end == start and self._body_end > 0
        self._close_body()
        scan = continuing or start < self.blocksize  # a read in the first block starts a scan
        stop = self.size if scan else min(self.size, max(end, start + self.blocksize))
        params: dict[str, Any] = {
            "Bucket": self.bucket,
            "Key": self.key,
            "Range": f"bytes={start}-{stop - 1}",
        }
        if self.version_id:
            params["VersionId"] = self.version_id
        elif self._etag:
            params["IfMatch"] = self._etag  # every range from one object, or an error
        try:
            response = self.fs.client.get_object(**params)
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("PreconditionFailed", "412"):
                raise OSError(
                    errno.EIO, f"{self.path}: the object was replaced while it was being read", self.path
                ) from err
            raise os_error(err, self.path) from err
        self._body, self._body_pos, self._body_end = response["Body"], start, stop

    def _read_body(self, size: int) -> bytes:
        parts = []
        left = size
        while left:
            data = self._body.read(left)
            if not data:
                self._close_body()
                raise OSError(errno.EIO, f"{self.path}: the connection ended before the range did", self.path)
            parts.append(data)
            left -= len(data)
        self._body_pos += size
        if self._body_pos >= self._body_end:
            self._close_body()  # read to its end: the connection goes back to the pool
            self._body_end = self._body_pos
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _close_body(self) -> None:
        body, self._body = self._body, None
        if body is not None:
            body.close()

    def close(self) -> None:
        if self.mode == "rb" and getattr(self, "_body", None) is not None:
            self._close_body()
        handling = sys.exc_info()[1]
        if self.writable() and handling is not None and handling is not self._handled_at_open:
            self.discard()  # closed on the way out of an exception: write nothing
            return
        super().close()

    def _initiate_upload(self) -> None:
        pass  # the upload starts with the first full part, or is one PUT on close

    def _upload_chunk(self, final: bool = False) -> bool:
        data = self.buffer.getvalue()
        if final and self.upload_id is None:
            if self.autocommit:
                self._put(data)
            else:
                self._pending = data
            return True
        try:
            if self.upload_id is None:
                started = self.fs._call(
                    self.path, "create_multipart_upload", Bucket=self.bucket, Key=self.key, **self._extra
                )
                self.upload_id = started["UploadId"]
            view = memoryview(data)
            offset = 0
            while len(view) - offset >= self.blocksize or (final and offset < len(view)):
                size = min(self.blocksize, len(view) - offset)
                self._upload_part(view[offset : offset + size])
                offset += size
            if offset < len(view):  # a short tail waits for more data
                rest = io.BytesIO()
                rest.write(view[offset:])
                self.buffer = rest
                return False
            if final and self.autocommit:
                self.commit()
        except BaseException:
            # The parts sent so far are gone with the upload; discard() closes the file too,
            # or a later close() (a ``finally``, the garbage collector) would PUT what is left
            # in the buffer as the whole object.
            self.discard()
            raise
        return True

    def _put(self, data: bytes) -> None:
        self.fs._call(self.path, "put_object", Bucket=self.bucket, Key=self.key, Body=data, **self._extra)

    def _upload_part(self, data: memoryview) -> None:
        number = len(self.parts) + 1
        answer = self.fs._call(
            self.path,
            "upload_part",
            Bucket=self.bucket,
            Key=self.key,
            UploadId=self.upload_id,
            PartNumber=number,
            Body=bytes(data),
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})
        self.blocksize = part_size(self._block, number + 1)  # flush() waits for a full part

    def commit(self) -> None:
        """Make the object appear (the PUT, or the completion of the multipart upload).

        A file still open (written in ``fs.transaction`` and never closed) is finished
        first: committing only what was sent would drop a small file's bytes, and complete
        a large one's upload without its last part.
        """
        if not self.autocommit and not self.closed:
            self.close()
        if self._pending is not None:
            data, self._pending = self._pending, None
            self._put(data)
        elif self.upload_id is not None:
            try:
                self.fs._call(
                    self.path,
                    "complete_multipart_upload",
                    Bucket=self.bucket,
                    Key=self.key,
                    UploadId=self.upload_id,
                    MultipartUpload={"Parts": self.parts},
                )
            except BaseException:
                self.discard()  # no orphan upload left behind
                raise
            self.upload_id = None

    def discard(self) -> None:
        """Drop what was written: abort the multipart upload, forget a pending PUT. The
        file is closed: nothing written to it later can reach the store."""
        self.closed = True
        self._pending = None
        upload_id, self.upload_id = self.upload_id, None
        if upload_id is not None:
            # Already gone, or the backend is unreachable (its lifecycle rules clean up): the
            # error that made us discard is the one to raise.
            with contextlib.suppress(ClientError, BotoCoreError):
                self.fs.client.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=upload_id)


class _LargeReadsDirect(ReadAheadCache):
    """fsspec's read-ahead cache for small reads; a read of a block or more is fetched
    for the caller alone and not kept, so a reader of large ranges (pyarrow reading
    column chunks) holds no second copy of them."""

    name = "botwo-readahead"

    def _fetch(self, start: int | None, end: int | None) -> bytes:
        first = start or 0
        last = self.size if end is None or end > self.size else end
        if last - first >= self.blocksize and not (self.start <= first and last <= self.end):
            self.miss_count += 1
            self.total_requested_bytes += last - first
            data: bytes = self.fetcher(first, last)
            return data
        cached: bytes = super()._fetch(start, end)
        return cached
