"""What ``aws s3`` prints, as pure functions: ``botwo ls``, ``cp`` and ``rm`` lines.

The shapes are those of the AWS CLI's ``s3`` commands (``awscli/customizations/s3``:
``ListCommand._display_page``, ``_make_last_mod_str``, ``human_readable_size``, and
``ResultPrinter``'s formats), so scripts written against ``aws s3 ls`` / ``cp`` / ``rm``
read botwo's output unchanged:

* a bucket: ``2024-01-01 12:00:00 bucket`` (the creation time, local time);
* a common prefix: ``PRE`` right-aligned in 30 columns, a space, the prefix's last part;
* an object: the modification time, the size right-aligned in 10 columns, the key (its
  last part unless ``--recursive``);
* ``--summarize``: a blank line, ``Total Objects: N``, ``   Total Size: S``;
* transfers: ``upload: ./f to s3://b/k``, ``download failed: s3://b/k to ./f <error>``;
* progress: ``Completed 5.0 MiB/10.0 MiB (2.1 MiB/s) with 1 file(s) remaining``.

Nothing here reads a clock, a file or the network: the time zone and the working
directory are arguments.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, tzinfo

import attrs

__all__ = [
    "S3Url",
    "bucket_line",
    "display_path",
    "failure_line",
    "human_size",
    "object_line",
    "prefix_line",
    "progress_line",
    "scheme_of",
    "split_scheme",
    "summary_lines",
    "timestamp",
    "transfer_line",
]

_UNITS = ("KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
SCHEME = "s3://"


@attrs.frozen
class S3Url:
    """``s3://bucket/key``; ``key`` is ``""`` for a bucket (or ``s3://bucket/``).

    ``client`` is ``None`` for the caller's namespace (``s3://``, routed by the rules) and
    a configured client's name for that backend addressed directly, with no rule applied
    (``lakefs://repo/main/x``; ``client:NAME://...`` for any name, the only form for a
    client named ``s3``, since ``s3://`` always means the caller's namespace).
    """

    bucket: str
    key: str = ""
    client: str | None = None

    @classmethod
    def parse(cls, text: str, *, scheme_optional: bool = False, direct: bool = False) -> S3Url:
        """Parse ``s3://bucket[/key]``; raises ``ValueError`` naming what is wrong.

        With ``scheme_optional`` (as ``aws s3 ls`` does), ``bucket/key`` is accepted too;
        with ``direct``, ``NAME://bucket[/key]`` and ``client:NAME://bucket[/key]`` too
        (whether NAME is a configured client is for the caller to check).
        """
        client, rest = split_scheme(text) if direct else (None, None)
        if rest is None:
            if text.startswith(SCHEME):
                rest = text[len(SCHEME) :]
            elif scheme_optional:
                rest = text
            else:
                expected = "s3://bucket/key or CLIENT://bucket/key" if direct else "s3://bucket/key"
                raise ValueError(f"{text!r} is not an S3 URL: expected {expected}")
        bucket, _, key = rest.partition("/")
        if not bucket:
            raise ValueError(f"{text!r} names no bucket: expected {scheme_of(client)}bucket/key")
        return cls(bucket, key, client)

    def child(self, name: str) -> S3Url:
        """The key ``name`` under this URL's key taken as a directory (``a`` -> ``a/name``)."""
        base = self.key if not self.key or self.key.endswith("/") else self.key + "/"
        return self.with_key(base + name)

    def with_key(self, key: str) -> S3Url:
        """The same bucket of the same namespace, another key."""
        return S3Url(self.bucket, key, self.client)

    @property
    def is_dir(self) -> bool:
        """True for ``s3://bucket`` and ``s3://bucket/dir/``: a place, not an object."""
        return not self.key or self.key.endswith("/")

    @property
    def basename(self) -> str:
        return self.key.rsplit("/", 1)[-1]

    def __str__(self) -> str:
        return f"{scheme_of(self.client)}{self.bucket}/{self.key}"


#: The explicit form of a direct address, for any client name: ``client:NAME://...``.
CLIENT_SCHEME = "client:"
_EXPLICIT = re.compile(r"client:([^/]+?)://")
_SCHEME = re.compile(r"([^/]+?)://")


def split_scheme(text: str) -> tuple[str | None, str | None]:
    """``(client, rest)`` of an address: ``(None, rest)`` for ``s3://rest``, ``(NAME, rest)``
    for ``NAME://rest`` and ``client:NAME://rest``, ``(None, None)`` for no scheme at all."""
    explicit = _EXPLICIT.match(text)
    if explicit is not None:
        return explicit.group(1), text[explicit.end() :]
    found = _SCHEME.match(text)
    if found is None:
        return None, None
    name = found.group(1)
    return (None if name == "s3" else name), text[found.end() :]


def scheme_of(client: str | None) -> str:
    """How an address of ``client``'s namespace starts (``s3://`` for the routed one)."""
    if client is None:
        return SCHEME
    if client == "s3" or ":" in client:
        return f"{CLIENT_SCHEME}{client}://"
    return f"{client}://"


def human_size(size: float) -> str:
    """``aws s3 ls --human-readable``'s sizes: ``1 Byte``, ``10 Bytes``, ``1.0 KiB``, ..."""
    value = float(size)
    if value == 1:
        return "1 Byte"
    if value < 1024:
        return f"{int(value)} Bytes"
    for i, suffix in enumerate(_UNITS):
        unit = 1024 ** (i + 2)
        if round(value / unit * 1024) < 1024 or suffix == _UNITS[-1]:
            return f"{1024 * value / unit:.1f} {suffix}"
    raise AssertionError("unreachable")  # pragma: no cover


def timestamp(when: datetime, tz: tzinfo | None = None) -> str:
    """``2024-01-01 12:00:00`` in ``tz`` (default: the local time zone), as ``aws s3 ls``."""
    return when.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S")


def bucket_line(name: str, created: datetime, tz: tzinfo | None = None) -> str:
    return f"{timestamp(created, tz)} {name}"


def prefix_line(prefix: str) -> str:
    """A common prefix as ``aws s3 ls`` shows it: its last part only (``a/b/`` -> ``b/``)."""
    parts = prefix.split("/")
    name = parts[-2] if len(parts) > 1 else parts[-1]
    return f"{'PRE':>30} {name}/"


def object_line(
    key: str,
    size: int,
    modified: datetime,
    *,
    human: bool = False,
    full_key: bool = False,
    tz: tzinfo | None = None,
) -> str:
    """An object line; the key's last part unless ``full_key`` (``--recursive``)."""
    shown = key if full_key else key.split("/")[-1]
    size_text = human_size(size) if human else str(size)
    return f"{timestamp(modified, tz)} {size_text:>10} {shown}"


def summary_lines(objects: int, total: int, *, human: bool = False) -> list[str]:
    """``--summarize``: a blank line, then the object count and the total size."""
    size_text = human_size(total) if human else str(total)
    return ["", f"Total Objects: {objects}", f"   Total Size: {size_text}"]


def display_path(path: str, cwd: str) -> str:
    """A local path as ``aws s3 cp`` shows it: relative to ``cwd`` (``f`` -> ``./f``)."""
    directory, name = os.path.split(os.path.join(cwd, path))
    try:
        return os.path.join(os.path.relpath(directory, cwd), name)
    except ValueError:  # another drive (Windows): no relative path
        return os.path.abspath(path)


def transfer_line(kind: str, source: str, dest: str | None = None) -> str:
    """``upload: ./f to s3://b/k`` / ``delete: s3://b/k``."""
    return f"{kind}: {source}" + (f" to {dest}" if dest is not None else "")


def failure_line(kind: str, source: str, dest: str | None, error: object) -> str:
    """``copy failed: s3://a/k to s3://b/k An error occurred (NoSuchKey) ...``."""
    location = source + (f" to {dest}" if dest is not None else "")
    return f"{kind} failed: {location} {error}"


def progress_line(done: int, total: int | None, speed: float, remaining: int) -> str:
    """``Completed 5.0 MiB/10.0 MiB (2.1 MiB/s) with 1 file(s) remaining``."""
    amount = human_size(max(done, 0)) + (f"/{human_size(total)}" if total is not None else "")
    return f"Completed {amount} ({human_size(speed)}/s) with {remaining} file(s) remaining"
