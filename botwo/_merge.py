"""Merged listings: one caller listing served by several routes and clients.

Theory of operation
-------------------
A listing of ``Prefix=P`` is laid out by :meth:`RuleTable.listing_plan` as routes, each
serving the caller keys under its ``list_prefix`` except its *holes* (the parts that
earlier, more specific rules serve). Every client of a route (its own, then its
fallbacks) is a :class:`Stream`: one backend listing, renamed to caller names. The
caller's listing is the lexicographic merge of the streams, where

* a name that several streams of one route hold is taken from the first (a route's own
  client wins over its fallbacks; for versions and uploads, all of that name's entries
  come from the winning stream);
* keys in a stream's holes are dropped (a broader route never shows a key that a more
  specific route owns, even when its backend still holds a stale copy);
* with a ``Delimiter``, keys roll up into common prefixes by the caller's names. A
  backend rolls up itself when its prefix puts the delimiter where the caller's would
  be; otherwise the stream rolls up here and skips the rest of each common prefix. A
  backend's common prefix that contains a hole is *verified* (it may hold only hole
  keys) by looking inside it once.

The merge is sans-I/O. :class:`MergeCursor` says which pages it needs
(:meth:`~MergeCursor.requests`), is fed the pages (:meth:`~MergeCursor.feed`), and stops
when it has ``limit`` entries and knows whether there is one more (``IsTruncated`` is
exact). A stream is fetched only when the merge cannot go on without it: when its lower
bound (where its next name can start) does not lie after the best name already
buffered. Streams that are needed together are fetched together, concurrently.

A page boundary is a :class:`Position` in caller names (the last name returned, its
version or upload id, and whether it was a common prefix): every stream resumes from
it, whatever backend tokens were in play, so a continuation token only has to carry it,
and the streams seen to hold more after it (*hints*): while a hint holds, the next page
knows it is not the last without asking that stream. A one-name *probe* of the next
stream, sent along with the pages the merge needs, learns the same when no hint does.
"""

from __future__ import annotations

import bisect
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple

import attrs

from ._names import encode_name
from ._s3 import ABOVE_ALL, MAX_PAGE
from ._table import Route, successor

__all__ = ["Fetch", "Item", "MergeCursor", "Position", "Stream", "common_prefix_of", "rolls_up_at_backend"]




@attrs.frozen
class Position:
    """A place in a listing, in caller names: just after ``name`` (and its entry ``id``);
    with ``past``, after every name that starts with ``name`` (a common prefix)."""

    name: str
    id: str | None = None
    past: bool = False

    def to_json(self) -> list[Any]:
        return [self.name, self.id, self.past]

    @classmethod
    def from_json(cls, value: Any) -> Position | None:
        if (
            isinstance(value, list)
            and len(value) == 3
            and isinstance(value[0], str)
            and (value[1] is None or isinstance(value[1], str))
            and isinstance(value[2], bool)
        ):
            return cls(value[0], value[1], value[2])
        return None


@attrs.frozen
class Stream:
    """One backend listing that feeds a merged listing."""

    index: int  # position in the plan
    route: Route
    client: str
    priority: int  # 0 for the route's own client, 1.. for its fallbacks in order
    list_prefix: str  # every caller name of the stream starts with it
    holes: tuple[str, ...]  # sorted caller prefixes that other routes serve
    rollup: bool  # the backend applies the caller's Delimiter itself
    solo: bool  # the route has no fallback: no other stream holds its names

    def hole_of(self, name: str) -> str | None:
        """The hole that ``name`` falls in, if any."""
        holes = self.holes
        if not holes:
            return None
        i = bisect.bisect_right(holes, name)
        if i and name.startswith(holes[i - 1]):
            return holes[i - 1]
        return None

    def hole_after(self, name: str) -> bool:
        """Whether some hole holds names after ``name``."""
        holes = self.holes
        i = bisect.bisect_right(holes, name)
        return i < len(holes) or (i > 0 and name.startswith(holes[i - 1]))


class Item(NamedTuple):
    """One entry of a listing page, in caller names (a tuple: one per listed key)."""

    name: str  # the caller's key or common prefix, decoded: what the merge orders by
    member: str  # the response list it belongs to: Contents, CommonPrefixes, Versions...
    entry: dict[str, Any]  # the response entry, in caller names (URL-encoded if asked)
    id: str | None = None  # VersionId / UploadId: where a page inside one key resumes
    is_prefix: bool = False


@attrs.frozen
class Fetch:
    """A page the merge needs: ``limit`` names of ``stream`` after ``after`` (from the
    stream's start when ``None``); with ``verify``, names inside that common prefix,
    without a delimiter, to learn whether it holds any key outside the stream's holes."""

    stream: Stream
    after: Position | None
    limit: int
    verify: str | None = None


def rolls_up_at_backend(prefix: str, delimiter: str, list_prefix: str) -> bool:
    """Whether a backend listing ``list_prefix`` with ``delimiter`` rolls up as the caller's
    listing of ``prefix`` would: no occurrence of the delimiter may start between the end
    of ``prefix`` and the end of ``list_prefix`` (the backend only looks after its prefix).
    """
    tail = list_prefix[len(prefix) :]
    for i in range(len(tail)):
        rest = tail[i:]
        if rest.startswith(delimiter) or delimiter.startswith(rest):
            return False
    return True


def common_prefix_of(name: str, prefix: str, delimiter: str) -> str | None:
    """The common prefix a caller key rolls up into, or ``None``."""
    i = name.find(delimiter, len(prefix))
    return None if i < 0 else name[: i + len(delimiter)]


class _State:
    __slots__ = ("buffer", "fetched", "hinted", "lower", "more", "pending", "probed", "resume", "stream")

    def __init__(self, stream: Stream) -> None:
        self.stream = stream
        self.buffer: deque[Item] = deque()
        self.resume: Position | None = None  # where the next page starts (None: the beginning)
        self.more = True  # the backend may have more after what was fetched
        self.lower = stream.list_prefix  # no name of the stream still to come sorts before it
        # Common prefixes from the backend that contain holes, still to be verified, and
        # where their verification goes on (None: from the start of the prefix).
        self.pending: dict[str, Position | None] = {}
        self.probed = False  # asked for one name, to learn cheaply whether it has any
        self.fetched = False  # read during this call
        # The previous page saw an entry of this stream after the start (its token says).
        self.hinted = False

    def start_at(self, position: Position) -> None:
        """Resume after ``position``, skipping at once a hole it falls in."""
        hole = self.stream.hole_of(position.name)
        if hole is not None:
            position = Position(hole, past=True)
        self.resume = position
        self.lower = (successor(position.name) or ABOVE_ALL) if position.past else position.name


def _before_range(position: Position, list_prefix: str) -> bool | None:
    """``True`` when every name under ``list_prefix`` comes after ``position``, ``False``
    when some may, ``None`` when none does."""
    name = position.name
    if position.past and list_prefix.startswith(name):
        return None
    if name < list_prefix:
        return True
    if name.startswith(list_prefix):
        return False
    return None


class MergeCursor:
    """The merge of one caller page (see the module docstring)."""

    def __init__(
        self,
        streams: Sequence[Stream],
        *,
        prefix: str,
        delimiter: str | None,
        limit: int,
        start: Position | None,
        encoded: bool = False,
        hints: frozenset[int] = frozenset(),
    ) -> None:
        self._prefix = prefix
        self._delimiter = delimiter or None
        self._limit = limit
        self._encoded = encoded
        self._start = start
        self.items: list[Item] = []
        self.truncated = False
        self._done = limit <= 0
        self._cp: str | None = None  # the last common prefix returned
        self._current: tuple[str, int] | None = None  # the last name returned, and its stream
        self._states: list[_State] = []
        for stream in streams:
            state = _State(stream)
            state.hinted = stream.index in hints
            if start is not None:
                where = _before_range(start, stream.list_prefix)
                if where is None:
                    state.more = False
                elif not where:
                    state.start_at(start)
            self._states.append(state)
        if start is not None and start.past:
            self._cp = start.name
        elif start is not None and start.id is not None:
            # A page that ends inside one key's versions (or uploads) resumes with the
            # stream that served that key; the key's entries elsewhere stay dropped.
            owner = next(
                (
                    s
                    for s in streams
                    if start.name.startswith(s.list_prefix) and s.hole_of(start.name) is None
                ),
                None,
            )
            if owner is not None:
                self._current = (start.name, owner.index)

    # -- what the shell drives ------------------------------------------------------

    def requests(self) -> list[Fetch]:
        """The pages needed next; empty when the page is complete."""
        while not self._done:
            best = self._best()
            full = len(self.items) >= self._limit
            if best is not None:
                state, item = best
                if self._dropped(state, item):
                    state.buffer.popleft()
                    continue
                if item.is_prefix and item.name in state.pending:
                    after = state.pending[item.name]
                    return [Fetch(state.stream, after, MAX_PAGE, verify=item.name)]
                if full:
                    self.truncated = True
                    self._done = True
                    return []
            elif full and self._certainly_more():
                self.truncated = True
                self._done = True
                return []
            need = self._waiting(None if best is None else best[1].name)
            if need:
                size = max(1, min(MAX_PAGE, self._limit - len(self.items) + 1))
                return [Fetch(s.stream, s.resume, size) for s in need] + self._probes(need)
            if best is None:
                self._done = True
                return []
            state, item = best
            state.buffer.popleft()
            self._emit(state, item)
            self._emit_run(state)
        return []

    def _emit_run(self, state: _State) -> None:
        """Emit the entries of ``state`` that sort before anything another stream may hold:
        most of a page comes from one stream, and this skips the per-entry scheduling."""
        bound: str | None = None
        for other in self._states:
            if other is state:
                continue
            if other.buffer:
                candidate = other.buffer[0].name
            elif other.more:
                candidate = other.lower
            else:
                continue
            if bound is None or candidate < bound:
                bound = candidate
        buffer, pending = state.buffer, state.pending
        while buffer and len(self.items) < self._limit:
            item = buffer[0]
            if (bound is not None and item.name >= bound) or (item.is_prefix and item.name in pending):
                return
            buffer.popleft()
            if not self._dropped(state, item):
                self._emit(state, item)

    def feed(self, fetch: Fetch, items: Sequence[Item], truncated: bool) -> None:
        """The page asked for by ``fetch``: its entries in the stream's order, in caller
        names; ``truncated`` when the backend has more after them."""
        state = self._states[fetch.stream.index]
        state.fetched = True
        if fetch.verify is not None:
            self._feed_verify(state, fetch.verify, items, truncated)
            return
        stream = state.stream
        delimiter = self._delimiter
        client_rollup = delimiter is not None and not stream.rollup
        last_cp = state.buffer[-1].name if state.buffer and state.buffer[-1].is_prefix else None
        after = fetch.after
        if after is not None and after.id is not None:
            # A server that ignores the version-id / upload-id marker (or is inclusive)
            # sends that entry again: what precedes it, and it, were returned already.
            seen = next(
                (i for i, it in enumerate(items) if it.name == after.name and it.id == after.id), None
            )
            if seen is not None:
                items = items[seen + 1 :]
        # Where the next page of this stream starts: (name, id, past), built once.
        resume_at: tuple[str, str | None, bool] | None = None
        buffer = state.buffer
        holes = stream.holes
        for item in items:
            name = item.name
            if after is not None and _not_after(name, after):
                continue  # a server whose markers are inclusive (some are) repeats it
            if holes:
                hole = stream.hole_of(name)
                if hole is not None:
                    resume_at = (hole, None, True)
                    continue
            if client_rollup and not item.is_prefix:
                assert delimiter is not None
                cp = common_prefix_of(name, self._prefix, delimiter)
                if cp is not None:
                    resume_at = (cp, None, True)
                    if cp != last_cp:
                        entry = {"Prefix": encode_name(cp) if self._encoded else cp}
                        buffer.append(Item(cp, "CommonPrefixes", entry, None, True))
                        last_cp = cp
                    continue
            if item.is_prefix:
                resume_at = (name, None, True)
                if holes and _has_holes_under(holes, name):
                    state.pending[name] = None
                buffer.append(item)
                continue
            resume_at = (name, item.id, False)
            buffer.append(item)
        state.more = truncated and bool(items)
        if resume_at is not None:
            resume = Position(*resume_at)
            if resume.past and stream.list_prefix.startswith(resume.name):
                state.more = False  # a common prefix that holds the whole stream
            state.start_at(resume)

    # -- internals --------------------------------------------------------------------

    def _best(self) -> tuple[_State, Item] | None:
        best: tuple[str, int, int] | None = None
        found: tuple[_State, Item] | None = None
        for state in self._states:
            if state.buffer:
                item = state.buffer[0]
                rank = (item.name, state.stream.priority, state.stream.index)
                if best is None or rank < best:
                    best, found = rank, (state, item)
        return found

    def _waiting(self, best_name: str | None) -> list[_State]:
        waiting = [s for s in self._states if not s.buffer and s.more]
        if best_name is not None:
            return [s for s in waiting if s.lower <= best_name]
        if not waiting:
            return []
        lowest = min(s.lower for s in waiting)
        return [s for s in waiting if s.lower == lowest]

    def _probes(self, need: list[_State]) -> list[Fetch]:
        """One-name pages, sent along with ``need``, from the next stream the merge would
        read: when the needed pages fill the caller's page, the probe tells whether there
        is more (``IsTruncated``) without another round trip after them."""
        if any(s.stream.solo and not s.stream.holes for s in need):
            return []  # its own backend says whether there is more
        if any(self._hint_holds(s) for s in self._states):
            return []  # the previous page saw more: no need to ask
        others = [s for s in self._states if s not in need and not s.buffer and s.more and not s.probed]
        if not others:
            return []
        state = min(others, key=lambda s: s.lower)
        state.probed = True
        return [Fetch(state.stream, state.resume, 1)]

    def _dropped(self, state: _State, item: Item) -> bool:
        if self._cp is not None and item.name.startswith(self._cp):
            return True  # inside a common prefix already returned
        start = self._start
        if start is not None and (item.name < start.name or (item.name == start.name and start.id is None)):
            # Not after the start: e.g. the common prefix of keys after a StartAfter that
            # lies inside it, which sorts before the StartAfter (as S3 servers drop it).
            return True
        current = self._current
        return current is not None and item.name == current[0] and state.stream.index != current[1]

    def _emit(self, state: _State, item: Item) -> None:
        self.items.append(item)
        self._current = (item.name, state.stream.index)
        if item.is_prefix:
            self._cp = item.name

    def hints(self) -> frozenset[int]:
        """Streams known to hold an entry after the page: for the next page's token.

        An entry seen now may be deleted before the next page is asked for; then that
        page is empty, as it can be on S3 when keys are deleted between two pages."""
        found = set()
        for state in self._states:
            if state.buffer:
                if any(not self._dropped(state, item) for item in state.buffer):
                    found.add(state.stream.index)
            elif self._hint_holds(state):
                found.add(state.stream.index)
        return frozenset(found)

    def _hint_holds(self, state: _State) -> bool:
        """Whether a hinted stream, not read in this call, still has an entry after the
        names returned: its entry lies past its lower bound, which they did not reach."""
        if not state.hinted or state.fetched:
            return False
        if self.items and self.items[-1].name >= state.lower:
            return False
        return self._cp is None or not state.lower.startswith(self._cp)

    def _certainly_more(self) -> bool:
        """Whether a stream's backend has more names that are certainly new entries."""
        for state in self._states:
            if self._hint_holds(state):
                return True
            stream, resume = state.stream, state.resume
            if state.buffer or not state.more or resume is None or not stream.solo:
                continue
            if self._delimiter is not None and not stream.rollup:
                continue
            if stream.hole_after(resume.name):
                continue
            if self._cp is not None and (resume.name.startswith(self._cp) or resume.name < self._cp):
                continue
            return True
        return False

    def _feed_verify(self, state: _State, cp: str, items: Sequence[Item], truncated: bool) -> None:
        after = state.pending.get(cp)
        for item in items:
            hole = state.stream.hole_of(item.name)
            if hole is None:
                del state.pending[cp]  # a key outside the holes: the common prefix stands
                return
            after = Position(hole, past=True)
        if truncated and items:
            state.pending[cp] = after  # look further
            return
        # Only hole keys under it: the backend's common prefix is not the caller's.
        del state.pending[cp]
        if state.buffer and state.buffer[0].name == cp:
            state.buffer.popleft()


def _not_after(name: str, position: Position) -> bool:
    """Whether ``name`` comes before ``position`` (entries of the position's own key that
    follow its id are after it: the server placed them)."""
    if position.past:
        return name < position.name or name.startswith(position.name)
    return name < position.name or (name == position.name and position.id is None)


def _has_holes_under(holes: tuple[str, ...], name: str) -> bool:
    """Whether a hole lies strictly inside the names starting with ``name``."""
    i = bisect.bisect_right(holes, name)
    return i < len(holes) and holes[i].startswith(name)
