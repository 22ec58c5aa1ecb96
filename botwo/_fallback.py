"""Fallback reads: a read that one client cannot serve is asked of the next.

A rule's ``fallback`` lists clients that hold the same target bucket and keys (a
replica, an older tier, the store the data is migrating from). Reads try the rule's
client, then each fallback in order, moving on only when the answer is "not here"
(``NoSuchKey``, ``NoSuchBucket``, ``NoSuchVersion``, a bare 404) or, when the rule says
``fallback_on_unreachable``, when the client cannot be reached at all. Any other error
(access denied, a failed precondition, a throttle) is the answer. When every client says
"not here", the caller gets the first one's error, as one S3 would say ``NoSuchKey``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError

from ._origin import Origin, mark
from ._s3 import NOT_FOUND, absent_rank, error_code

__all__ = ["FallbackChain", "falls_back", "unreachable"]


def unreachable(err: BaseException) -> bool:
    """True for a client that could not be reached or did not answer in time."""
    return isinstance(err, BotocoreConnectionError | HTTPClientError)


def falls_back(err: BaseException, *, on_unreachable: bool) -> bool:
    """Whether a read that failed with ``err`` should be asked of the next client."""
    if isinstance(err, ClientError):
        return error_code(err) in NOT_FOUND
    return on_unreachable and unreachable(err)


def _rank(err: BaseException) -> int:
    """Which "not here" to report when every client said one (see :func:`botwo._s3.absent_rank`)."""
    return absent_rank(error_code(err)) if isinstance(err, ClientError) else absent_rank(None)


class FallbackChain:
    """The clients that serve a route's reads, in order (the rule's, then its fallbacks).

    :meth:`call` is the send of a planned read; the shell sends writes to the rule's own
    client directly. ``names`` are the clients' names, in the same order: the error a
    read raises records which of them it came from (:mod:`botwo._origin`).
    """

    __slots__ = ("_clients", "_names", "_on_unreachable")

    def __init__(
        self, clients: Sequence[Any], *, on_unreachable: bool, names: Sequence[str] | None = None
    ) -> None:
        self._clients = tuple(clients)
        self._names = tuple(names) if names is not None else None
        self._on_unreachable = on_unreachable

    def falls_back(self, err: BaseException) -> bool:
        return falls_back(err, on_unreachable=self._on_unreachable)

    def first_serving(self, method: str, params: dict[str, Any]) -> Any:
        """The first client whose ``method(**params)`` succeeds (the primary if none does)."""
        for client in self._clients:
            try:
                getattr(client, method)(**params)
            except (ClientError, BotocoreConnectionError, HTTPClientError) as err:
                if self.falls_back(err):
                    continue
                raise
            return client
        return self._clients[0]

    def call(self, method: str, /, **params: Any) -> Any:
        """``method(**params)`` of the first client that has what it asks for."""
        first: BaseException | None = None
        for i, client in enumerate(self._clients):
            try:
                return getattr(client, method)(**params)
            except (ClientError, BotocoreConnectionError, HTTPClientError) as err:
                if self._names is not None:
                    mark(err, Origin(client=self._names[i]))
                if not self.falls_back(err):
                    raise
                if first is None or _rank(err) < _rank(first):
                    first = err  # the primary's "not found" (or the first one there is)
        assert first is not None
        raise first
