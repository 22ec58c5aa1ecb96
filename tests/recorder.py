"""What botwo's underlying clients really send: their ``before-send`` event, recorded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["Sent"]


class Sent:
    """Records ``(client name, HTTP method, URL)`` of every request the clients send.

    Register it on the very client objects that botwo routes to; check the servers'
    state through other clients, which it does not see.
    """

    def __init__(self, clients: Mapping[str, Any]) -> None:
        self.requests: list[tuple[str, str, str]] = []
        for name, client in clients.items():
            client.meta.events.register("before-send.s3", self._recorder(name))

    def _recorder(self, name: str) -> Any:
        def record(request: Any, **_kwargs: Any) -> None:
            self.requests.append((name, request.method, request.url))

        return record

    def clients(self) -> list[str]:
        """The names of the clients that sent something, in order."""
        return [name for name, _, _ in self.requests]

    def clear(self) -> None:
        self.requests.clear()
