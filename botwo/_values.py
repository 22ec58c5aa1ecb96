"""Small configuration values that the client, the configuration and the copy engine share.

Kept apart from the engines they tune, so that reading a configuration does not import
the copy engine. Each value validates itself when made and names the field that is wrong.
"""

from __future__ import annotations

import attrs

from ._s3 import MAX_PART_SIZE, MIN_PART_SIZE, MiB
from .errors import ConfigError

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_PART_SIZE", "DEFAULT_READ_STREAMS", "CopyConfig"]

DEFAULT_PART_SIZE = 8 * MiB
DEFAULT_CONCURRENCY = 4
DEFAULT_READ_STREAMS = 1


@attrs.frozen(kw_only=True)
class CopyConfig:
    """How a copy between two clients is streamed (``botwo.client(..., copy_config=...)``).

    * ``part_size``: bytes per part and per buffer (5 MiB to 5 GiB, S3's part limits;
      grown for objects that would need more than 10,000 parts);
    * ``concurrency``: parts uploaded at once;
    * ``read_streams``: GETs reading the source at once, each over a contiguous range;
    * ``verify_md5``: check every part's ETag against its MD5 (turn off for servers whose
      ETags are not MD5s; sizes and the source's checksums are still checked).

    At most ``(concurrency + read_streams) * part_size`` bytes are held in memory.
    """

    part_size: int = attrs.field(default=DEFAULT_PART_SIZE)
    concurrency: int = attrs.field(default=DEFAULT_CONCURRENCY)
    read_streams: int = attrs.field(default=DEFAULT_READ_STREAMS)
    verify_md5: bool = attrs.field(default=True)

    def __attrs_post_init__(self) -> None:
        for name in ("part_size", "concurrency", "read_streams"):
            value = getattr(self, name)
            if type(value) is not int:
                raise ConfigError(f"CopyConfig.{name}: expected an integer, got {value!r}")
        if not MIN_PART_SIZE <= self.part_size <= MAX_PART_SIZE:
            raise ConfigError(
                f"CopyConfig.part_size: must be between {MIN_PART_SIZE} (5 MiB) and {MAX_PART_SIZE} "
                f"(5 GiB), S3's limits for a part; got {self.part_size}"
            )
        if self.concurrency < 1 or self.read_streams < 1:
            raise ConfigError(
                f"CopyConfig: concurrency and read_streams must be >= 1; got {self.concurrency}, "
                f"{self.read_streams}"
            )
        if not isinstance(self.verify_md5, bool):
            raise ConfigError(f"CopyConfig.verify_md5: expected true or false, got {self.verify_md5!r}")
