"""Which server plays each backend: the sets of servers the tests run over.

A set names the kind of server behind each role: ``oracle`` (the one plain S3) and
``s3`` and ``lake`` (the backends botwo routes over). ``moto`` is every test's; the mixed
sets prove botwo over real S3 implementations that are not moto, side by side: Ceph's
RADOS gateway (``rgw``) and ``s3rver``. Where the servers differ from S3, S3's documented
behaviour decides which one deviates (docs/compatibility.md).
"""

from __future__ import annotations

import dataclasses

import pytest

SETS: dict[str, dict[str, str]] = {
    "moto": {"oracle": "moto", "s3": "moto", "lake": "moto"},
    "moto+rgw": {"oracle": "rgw", "s3": "moto", "lake": "rgw"},
    "rgw+s3rver": {"oracle": "rgw", "s3": "rgw", "lake": "s3rver"},
}
#: For ``@pytest.mark.parametrize("backend_set", BACKEND_SETS)``: a test over every set.
BACKEND_SETS = tuple(SETS)

# The key segments of the differential test (tests/test_differential.py), and the ones
# left for s3rver: it lists keys out of byte order (it walks a directory tree, so a key
# with a byte below "/", "a b", "a+b", "a.txt", comes after "a/..." there), answers
# some calls on a missing non-ASCII key with a bare 404, and copies no key with a "?".
SEGMENTS = ("a", "b b", "x%2F", "ü", "q+r", "[z]", "back\\slash", "what?", "é€", "dir", "~t", "=&")
SUFFIXES = ("", "", "/", ".txt")


@dataclasses.dataclass(frozen=True)
class Profile:
    """What the differential test compares over a set of servers.

    ``lenient``: compare as between implementations (``differential.across``), dropping
    ``drop``; ``lacks``: what some server of the set does not do, which the test then
    does not ask for (each a deviation in docs/compatibility.md, pinned by a strict xfail
    in tests/test_compatibility.py).
    """

    lenient: bool = False
    drop: frozenset[str] = frozenset()
    lacks: frozenset[str] = frozenset()
    segments: tuple[str, ...] = SEGMENTS
    suffixes: tuple[str, ...] = SUFFIXES


# moto vs RGW: where they answer differently (HeadBucket's region, GetBucketLocation,
# CreateBucket's Location, ListParts' Initiator, the markers, Prefix, StartAfter and
# EncodingType a listing echoes, the VersionId moto sends for a multipart upload to an
# unversioned bucket) the fields are left out; RGW drops the tags of a
# TaggingDirective=REPLACE copy; a range of an empty object is InvalidRange on RGW, the
# whole (empty) object on moto; moto fails (HTTP 500) to clear a multipart object's tags.
_ACROSS = frozenset(
    {
        "BucketRegion",
        "Location",
        "LocationConstraint",
        "Initiator",
        "EncodingType",
        "KeyMarker",
        "UploadIdMarker",
        "NextKeyMarker",
        "NextUploadIdMarker",
        "Prefix",
        "StartAfter",
        "VersionId",
    }
)
PROFILES: dict[str, Profile] = {
    "moto": Profile(),
    "moto+rgw": Profile(
        lenient=True, drop=_ACROSS, lacks=frozenset({"copy-tagging-replace", "empty-range", "clear-tags"})
    ),
    "rgw+s3rver": Profile(
        lenient=True,
        drop=_ACROSS | {"TagCount"},
        lacks=frozenset(
            {
                "copy-tagging-replace",
                "copy-missing-source",
                "empty-range",
                "tagging",
                "versions",
                "multipart",
                "suffix-range",
                "bucket-tagging",
            }
        ),
        segments=tuple(s for s in SEGMENTS if min(s) > "/" and s.isascii() and "?" not in s),
        suffixes=("", "", "/"),
    ),
}


def over_sets(deviations: dict[str, str] | None = None) -> pytest.MarkDecorator:
    """Run a test over every set of servers; a set named in ``deviations`` is a strict
    xfail, for the reason given (a server's deviation from S3 that the test meets)."""
    deviations = deviations or {}
    unknown = set(deviations) - set(SETS)
    assert not unknown, unknown
    return pytest.mark.parametrize(
        "backend_set",
        [
            pytest.param(name, marks=[pytest.mark.xfail(strict=True, reason=deviations[name])])
            if name in deviations
            else name
            for name in SETS
        ],
    )
