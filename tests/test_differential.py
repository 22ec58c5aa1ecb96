"""Transparency, proven differentially.

One random sequence of S3 calls runs on (a) botwo over two servers with a non-trivial
rule table and (b) a plain boto3 client on a third server that holds the caller's whole
namespace. Everything the caller can observe must be equal.
"""

from __future__ import annotations

import os
import warnings
from functools import partial
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

import botwo

from .backends import BACKEND_SETS, PROFILES, SEGMENTS, SUFFIXES, Profile
from .differential import AREAS, CALLER_BUCKETS, MAPPING, TARGET_BUCKETS, across, fetch, list_all, observe

# The profile of the set of servers under test: the key segments it draws from, what it
# compares and what it leaves out (tests/backends.py). Read when a key is drawn.
_profile = [PROFILES["moto"]]


@st.composite
def caller_keys(draw: st.DrawFn, bucket: str | None = None) -> tuple[str, str]:
    """A (bucket, key) with awkward characters, in one of the bucket's route areas."""
    bucket = bucket or draw(st.sampled_from(CALLER_BUCKETS))
    area = draw(st.sampled_from(AREAS[bucket]))
    segments, suffixes = _profile[0].segments, _profile[0].suffixes
    parts = draw(st.lists(st.integers(0, len(SEGMENTS) - 1), min_size=1, max_size=3))
    suffix = suffixes[draw(st.integers(0, len(SUFFIXES) - 1)) % len(suffixes)]
    key = area + "/".join(segments[i % len(segments)] for i in parts) + suffix
    return bucket, key


# Listing prefixes of bucket "data" that span its two routes (raw/ on lake, the rest on s3).
SPLIT = ("", "r", "ra", "raw")


def _content(pages: list[Any]) -> tuple[list[Any], list[Any]]:
    keys = [entry for page in pages for entry in page.get("Contents", [])]
    prefixes = sorted({p["Prefix"] for page in pages for p in page.get("CommonPrefixes", [])})
    return keys, prefixes


listing_prefixes = st.sampled_from(
    ["", "a", "r", "raw", "dir/", "raw/", "raw/a", "raw/dir/", "other/", "other/d", "b b/"]
)


class Transparency(RuleBasedStateMachine):
    """The state is the servers' contents; the model is the oracle server itself."""

    backends: dict[str, Any]
    profile: Profile = PROFILES["moto"]

    @initialize()
    def setup(self) -> None:
        clients = self.backends
        for name, buckets in TARGET_BUCKETS.items():
            for bucket in buckets:
                clients[name].create_bucket(Bucket=bucket)
        for bucket in CALLER_BUCKETS:
            clients["oracle"].create_bucket(Bucket=bucket)
        self.oracle = clients["oracle"]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            self.botwo = botwo.client({"s3": clients["s3"], "lake": clients["lake"]}, MAPPING)
        self.known: list[tuple[str, str]] = []

    def seen(self, call: Any) -> Any:
        """What the caller observes of a call, as compared over this set of servers."""
        observed = observe(call)
        return across(observed, self.profile.drop) if self.profile.lenient else observed

    def pages(self, client: Any, method: str, **params: Any) -> list[Any]:
        pages = list_all(client, method, **params)
        return [across(p, self.profile.drop) for p in pages] if self.profile.lenient else pages

    def lacks(self, feature: str) -> bool:
        return feature in self.profile.lacks

    def both(self, method: str, *, forget: tuple[str, ...] = (), **params: Any) -> tuple[Any, ...]:
        ours = self.seen(lambda: getattr(self.botwo, method)(**params))
        theirs = self.seen(lambda: getattr(self.oracle, method)(**params))
        for side in (ours, theirs):
            if side[0] == "ok":
                for field in forget:
                    side[1].pop(field, None)
        assert ours == theirs, f"{method}({params})"
        return ours

    def pick(self, data: st.DataObject) -> tuple[str, str]:
        if self.known and data.draw(st.booleans()):
            return data.draw(st.sampled_from(self.known))
        return data.draw(caller_keys())

    @rule(
        where=caller_keys(),
        body=st.binary(max_size=64),
        meta=st.dictionaries(st.sampled_from(["a", "b-c"]), st.text("xyz ", max_size=5), max_size=2),
    )
    def put(self, where: tuple[str, str], body: bytes, meta: dict[str, str]) -> None:
        bucket, key = where
        self.both("put_object", Bucket=bucket, Key=key, Body=body, Metadata=meta, ContentType="text/x-test")
        self.known.append(where)

    @rule(data=st.data(), method=st.sampled_from(["get_object", "head_object", "get_object_tagging"]))
    def read(self, data: st.DataObject, method: str) -> None:
        bucket, key = self.pick(data)
        self.both(method, Bucket=bucket, Key=key)

    @rule(data=st.data(), rng=st.sampled_from(["bytes=0-3", "bytes=2-", "bytes=-2"]))
    def ranged_get(self, data: st.DataObject, rng: str) -> None:
        if rng.startswith("bytes=-") and self.lacks("suffix-range"):
            return
        bucket, key = self.pick(data)
        if self.lacks("empty-range"):
            head = self.seen(lambda: self.oracle.head_object(Bucket=bucket, Key=key))
            if head[0] == "ok" and head[1].get("ContentLength") == 0:
                return
        self.both("get_object", Bucket=bucket, Key=key, Range=rng)

    @rule(data=st.data())
    def delete(self, data: st.DataObject) -> None:
        bucket, key = self.pick(data)
        self.both("delete_object", Bucket=bucket, Key=key)

    @rule(data=st.data(), quiet=st.booleans())
    def delete_many(self, data: st.DataObject, quiet: bool) -> None:
        # Keys from every area of the bucket: the "data" bucket's span two backends.
        bucket = data.draw(st.sampled_from(CALLER_BUCKETS))
        known = [k for b, k in self.known if b == bucket]
        keys = data.draw(st.lists(st.sampled_from(known), max_size=5, unique=True)) if known else []
        keys += [f"{a}missing-{i}" for a in AREAS[bucket] for i in range(data.draw(st.integers(0, 1)))]
        if not keys:
            return
        # moto lists the deleted keys of a quiet delete too (S3 and RGW do not).
        forget = ("Deleted",) if quiet and self.profile.lenient else ()
        self.both(
            "delete_objects",
            forget=forget,
            Bucket=bucket,
            Delete={"Objects": [{"Key": k} for k in keys], "Quiet": quiet},
        )

    @rule(
        data=st.data(),
        directive=st.sampled_from(["COPY", "REPLACE"]),
        tagging=st.sampled_from([None, "COPY", "REPLACE"]),
        form=st.sampled_from(["dict", "str"]),
        across=st.booleans(),
    )
    def copy(self, data: st.DataObject, directive: str, tagging: str | None, form: str, across: bool) -> None:
        if tagging == "REPLACE" and self.lacks("copy-tagging-replace"):
            return
        src_bucket, src_key = self.pick(data)
        if (
            self.lacks("copy-missing-source")
            and self.seen(lambda: self.oracle.head_object(Bucket=src_bucket, Key=src_key))[0] != "ok"
        ):
            return
        src_route = self.botwo.route(src_bucket, src_key)
        # A destination on the same client (a server-side copy) or on the other (streamed).
        candidates = [
            (b, a)
            for b in CALLER_BUCKETS
            for a in AREAS[b]
            if (self.botwo.route(b, a + "k").client != src_route.client) == across
        ]
        dst_bucket, area = data.draw(st.sampled_from(candidates))
        _, dst_key = data.draw(caller_keys(dst_bucket).filter(lambda bk: bk[1].startswith(area)))
        source: Any = {"Bucket": src_bucket, "Key": src_key} if form == "dict" else f"{src_bucket}/{src_key}"
        extra: dict[str, Any] = (
            {"Metadata": {"copied": "yes"}, "ContentType": "text/copied"} if directive == "REPLACE" else {}
        )
        if tagging is not None:
            extra["TaggingDirective"] = tagging
            if tagging == "REPLACE":
                extra["Tagging"] = "copied=yes"
        result = self.both(
            "copy_object",
            Bucket=dst_bucket,
            Key=dst_key,
            CopySource=source,
            MetadataDirective=directive,
            **extra,
        )
        if result[0] == "ok":
            self.known.append((dst_bucket, dst_key))
            self.both("get_object", Bucket=dst_bucket, Key=dst_key)
            self.both("get_object_tagging", Bucket=dst_bucket, Key=dst_key)

    @rule(data=st.data())
    def managed_copy(self, data: st.DataObject) -> None:
        src_bucket, src_key = self.pick(data)
        dst_bucket, dst_key = data.draw(caller_keys())
        source = {"Bucket": src_bucket, "Key": src_key}
        outcomes = [
            self.seen(lambda c=c: c.copy(source, dst_bucket, dst_key)) for c in (self.botwo, self.oracle)
        ]
        assert outcomes[0] == outcomes[1]
        if outcomes[0][0] == "ok":
            self.known.append((dst_bucket, dst_key))
            self.both("get_object", Bucket=dst_bucket, Key=dst_key)

    @rule(
        data=st.data(),
        tags=st.lists(
            # Keys and values that must be escaped in a query string or a header
            # (x-amz-tagging, which a streamed copy with TaggingDirective=COPY sends).
            st.tuples(st.sampled_from(["k1", "k 2", "a+b=c", "ü/é:@"]), st.text("ab +=/:é", max_size=4)),
            max_size=3,
            unique_by=lambda t: t[0],
        ),
    )
    def tagging(self, data: st.DataObject, tags: list[tuple[str, str]]) -> None:
        if self.lacks("tagging") or (not tags and self.lacks("clear-tags")):
            return
        bucket, key = self.pick(data)
        tagset = {"TagSet": [{"Key": k, "Value": v} for k, v in tags]}
        self.both("put_object_tagging", Bucket=bucket, Key=key, Tagging=tagset)
        self.both("get_object_tagging", Bucket=bucket, Key=key)

    @rule(
        where=caller_keys(),
        parts=st.lists(st.binary(min_size=1, max_size=16), min_size=1, max_size=1),
        abort=st.booleans(),
    )
    def multipart(self, where: tuple[str, str], parts: list[bytes], abort: bool) -> None:
        if self.lacks("multipart"):
            return
        bucket, key = where
        ours = self.botwo.create_multipart_upload(Bucket=bucket, Key=key)
        theirs = self.oracle.create_multipart_upload(Bucket=bucket, Key=key)
        assert self.seen(lambda: ours) == self.seen(lambda: theirs)
        uploads = [(self.botwo, ours["UploadId"]), (self.oracle, theirs["UploadId"])]
        etags: dict[int, list[str]] = {0: [], 1: []}
        for number, body in enumerate(parts, start=1):
            for side, (client, upload_id) in enumerate(uploads):
                part = client.upload_part(
                    Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body
                )
                etags[side].append(part["ETag"])
        listed = [
            self.seen(lambda c=c, u=u: c.list_parts(Bucket=bucket, Key=key, UploadId=u)) for c, u in uploads
        ]
        assert listed[0] == listed[1]
        in_progress = [
            self.seen(lambda c=c: c.list_multipart_uploads(Bucket=bucket, Prefix=key)) for c, _ in uploads
        ]
        assert in_progress[0] == in_progress[1]
        results = []
        for side, (client, upload_id) in enumerate(uploads):
            if abort:
                results.append(
                    self.seen(
                        partial(client.abort_multipart_upload, Bucket=bucket, Key=key, UploadId=upload_id)
                    )
                )
            else:
                done = {"Parts": [{"ETag": e, "PartNumber": n} for n, e in enumerate(etags[side], start=1)]}
                complete = partial(
                    client.complete_multipart_upload,
                    Bucket=bucket,
                    Key=key,
                    UploadId=upload_id,
                    MultipartUpload=done,
                )
                results.append(self.seen(complete))
        assert results[0] == results[1]
        if not abort:
            self.known.append(where)
            self.both("get_object", Bucket=bucket, Key=key)

    @rule(data=st.data())
    def presigned_get(self, data: st.DataObject) -> None:
        bucket, key = self.pick(data)
        params = {"Bucket": bucket, "Key": key}
        ours = fetch(self.botwo.generate_presigned_url("get_object", Params=params))
        theirs = fetch(self.oracle.generate_presigned_url("get_object", Params=params))
        assert ours == theirs

    @rule(
        bucket=st.sampled_from(CALLER_BUCKETS),
        prefix=listing_prefixes,
        delimiter=st.sampled_from([None, "/", "b"]),
        max_keys=st.sampled_from([None, 1, 2, 3, 1000]),
        start_after=st.sampled_from([None, "", "a", "dir/", "raw/b", "raw/zzz", "other/", "zzz", "\\"]),
        method=st.sampled_from(["list_objects_v2", "list_objects", "list_object_versions"]),
    )
    def listing(
        self,
        bucket: str,
        prefix: str,
        delimiter: str | None,
        max_keys: int | None,
        start_after: str | None,
        method: str,
    ) -> None:
        if method == "list_object_versions" and self.lacks("versions"):
            return
        params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
        if delimiter is not None:
            params["Delimiter"] = delimiter
        if max_keys is not None:
            params["MaxKeys"] = max_keys
        if start_after is not None:
            marker = {"list_objects_v2": "StartAfter", "list_objects": "Marker"}.get(method, "KeyMarker")
            params[marker] = start_after
        ours = self.pages(self.botwo, method, **params)
        theirs = self.pages(self.oracle, method, **params)
        spans = bucket == "data" and prefix in SPLIT
        if method == "list_objects" and delimiter is not None and (spans or self.profile.lenient):
            # moto's ListObjects (v1) pages keys but returns every common prefix on every
            # page, so a merged listing (which pages them as S3 does) is compared by content.
            assert _content(ours) == _content(theirs)
        else:
            assert ours == theirs

    @rule(bucket=st.sampled_from(CALLER_BUCKETS), prefix=listing_prefixes, page=st.integers(1, 3))
    def paginator(self, bucket: str, prefix: str, page: int) -> None:
        config = {"PageSize": page}
        for method in ("list_objects_v2", "list_object_versions"):
            if method == "list_object_versions" and self.lacks("versions"):
                continue
            sides = [
                [
                    self.seen(lambda p=p: p)
                    for p in c.get_paginator(method).paginate(
                        Bucket=bucket, Prefix=prefix, PaginationConfig=config
                    )
                ]
                for c in (self.botwo, self.oracle)
            ]
            assert sides[0] == sides[1], method

    @rule()
    def bucket_list(self) -> None:
        # Every client's buckets, in the caller's names, against the one server's (moto
        # lists buckets in creation order, S3 and botwo by name: compared as sorted).
        sides = [self.seen(c.list_buckets) for c in (self.botwo, self.oracle)]
        for side in sides:
            if side[0] == "ok":
                side[1]["Buckets"].sort(key=lambda b: b["Name"])
        assert sides[0] == sides[1]

    @rule(bucket=st.sampled_from(CALLER_BUCKETS))
    def bucket_calls(self, bucket: str) -> None:
        self.both("head_bucket", Bucket=bucket)
        self.both("get_bucket_location", Bucket=bucket)
        if not self.lacks("bucket-tagging"):
            self.both("get_bucket_tagging", Bucket=bucket)

    @precondition(lambda self: hasattr(self, "botwo"))
    @invariant()
    def no_target_names_leak(self) -> None:
        # Each backend holds only what the routes put there: nothing outside a namespace.
        for name, buckets in TARGET_BUCKETS.items():
            client = self.backends[name]
            for target in buckets:
                for entry in client.list_objects_v2(Bucket=target).get("Contents", []):
                    assert any(
                        r.client == name
                        and r.target_bucket == target
                        and entry["Key"].startswith(r.key_prefix)
                        for b in CALLER_BUCKETS
                        for a in AREAS[b]
                        for r in [self.botwo._table.route(b, a + "k")]
                    ), (name, target, entry["Key"])


@pytest.mark.slow
@pytest.mark.parametrize("backend_set", BACKEND_SETS)
def test_transparency(set_servers: dict[str, Any], backends: dict[str, Any], backend_set: str) -> None:
    class Run(Transparency):
        def __init__(self) -> None:
            for server in set_servers.values():  # every example starts from empty servers
                server.reset()
            super().__init__()

    Run.backends = backends
    Run.profile = PROFILES[backend_set]
    _profile[0] = Run.profile
    Run.TestCase.settings = settings(
        max_examples=int(os.environ.get("BOTWO_EXAMPLES", "25")),
        stateful_step_count=25,
        deadline=None,
        # Shrinking over real servers can take many minutes; the failing steps are printed
        # anyway. BOTWO_SHRINK=1 turns it on for debugging.
        phases=list(Phase) if os.environ.get("BOTWO_SHRINK") else [p for p in Phase if p is not Phase.shrink],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        # Over servers that differ from each other, the same examples every run (a new
        # deviation is found by exploring, BOTWO_RANDOM=1, not by a CI run that fails).
        derandomize=backend_set != "moto" and not os.environ.get("BOTWO_RANDOM"),
    )
    Run.TestCase().runTest()
