"""Which backend request of a call an error came from, when the call has several.

A call that one backend serves fails in that backend's request, and its plan says where
that went. A call that fans out (a merged listing, the bucket list over every client, a
bulk delete over several backends, reads that fall back, a copy streamed between two
clients) fails in one of its requests, which the plan cannot know: the fan-out records
it on the backend's error as an :class:`Origin`, and the shell reads it back when it
re-raises the error with its :class:`~botwo.errors.Served` record. Each field left
``None`` is the plan's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:  # annotations only
    from ._table import Route
    from .errors import Side

__all__ = ["Origin", "mark", "origin_of"]

_ATTRIBUTE = "_botwo_origin"


@attrs.frozen(kw_only=True)
class Origin:
    """The request an error came from: its route and client, the names it sent, and for a
    copy the side it was about."""

    route: Route | None = None
    client: str | None = None
    target_bucket: str | None = None
    target_key: str | None = None
    side: Side | None = None


def mark(err: BaseException, origin: Origin) -> None:
    """Record on ``err`` the request it came from (a later mark replaces an earlier one:
    the outer fan-out knows more)."""
    setattr(err, _ATTRIBUTE, origin)


def origin_of(err: BaseException) -> Origin | None:
    """The :class:`Origin` recorded on ``err``, if any."""
    found = getattr(err, _ATTRIBUTE, None)
    return found if isinstance(found, Origin) else None
