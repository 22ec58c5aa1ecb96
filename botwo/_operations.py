"""The per-operation table: how each S3 operation is routed and which fields carry names.

The table is derived from botocore's service model, never from a hand-kept list of
operation names, so a newer botocore brings its new operations along:

* an operation with no ``Bucket`` member either spans every bucket (it returns
  ``Buckets``: ``ListBuckets``) or names no bucket at all (``WriteGetObjectResponse``);
* ``CopySource`` / ``RenameSource`` / ``Delete`` members make a copy, a rename or a bulk
  delete; an output list of entries with a ``Key`` (or ``CommonPrefixes``) makes a
  listing; a ``Key`` member an object operation; anything else a bucket operation;
* a name-bearing shape (``BucketName``, ``ObjectKey``, ``Prefix``, ...) anywhere below the
  top level of the input or output, other than a tag's ``Key``, means the payload embeds
  names (a lifecycle filter, a logging target, a website redirect). Those stay exact only
  on a route that renames nothing, and botwo refuses them elsewhere rather than configure
  the wrong keys.

What a listing's markers and tokens mean is not in the model; it is the reviewed table
:data:`LISTINGS` below, which mirrors botocore's ``decode_list_object*`` handlers. A test
pins the derived kind of every operation, so a new operation fails it until reviewed.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Iterator, Mapping

import attrs
from botocore import xform_name
from botocore.model import ListShape, MapShape, OperationModel, ServiceModel, Shape, StructureShape

__all__ = ["LISTINGS", "Kind", "ListingSpec", "OpSpec", "operation_table"]


class Kind(enum.Enum):
    OBJECT = "object"  # Bucket + Key: routed by both
    BUCKET = "bucket"  # Bucket only: the first matching rule without a prefix
    LISTING = "listing"  # Bucket + Prefix: the route that owns the whole prefix
    COPY = "copy"  # an object operation with a CopySource
    RENAME = "rename"  # an object operation with a RenameSource in the same bucket
    DELETE_OBJECTS = "delete_objects"  # Bucket + a list of keys
    ALL_BUCKETS = "all_buckets"  # spans every bucket of every client
    NO_BUCKET = "no_bucket"  # names no bucket: served by the default client


@attrs.frozen
class ListingSpec:
    """Which members of one listing operation carry keys, markers and tokens."""

    marker: str  # request member: a caller key to start after
    next_marker: str | None  # response member: where the next page starts (key or opaque)
    token: str | None  # request member: an opaque continuation token
    next_token: str | None  # response member: the next opaque token
    entries: tuple[tuple[str, str], ...]  # (list member, member holding a key)
    id_markers: tuple[str, ...] = ()  # version-id / upload-id markers, passed through
    next_id_marker: str | None = None  # response member: the id marker of the next page
    id_field: str | None = None  # entry member holding that id (VersionId, UploadId)
    limit: str = "MaxKeys"  # request member: the most entries in one page
    # Entry member whose time orders a key's entries: newest version first, oldest upload first.
    order: tuple[str, bool] | None = None
    # Response members that S3 URL-encodes when the caller asks for EncodingType=url.
    encoded: tuple[str, ...] = ()


_COMMON = ("CommonPrefixes", "Prefix")

#: Reviewed: what S3 (and botocore's decode_list_object* handlers) say of each listing.
LISTINGS: Mapping[str, ListingSpec] = {
    "ListObjectsV2": ListingSpec(
        marker="StartAfter",
        next_marker=None,
        token="ContinuationToken",
        next_token="NextContinuationToken",
        entries=(("Contents", "Key"), _COMMON),
        encoded=("Delimiter", "Prefix", "StartAfter"),
    ),
    "ListObjects": ListingSpec(
        marker="Marker",
        next_marker="NextMarker",
        token=None,
        next_token=None,
        entries=(("Contents", "Key"), _COMMON),
        encoded=("Delimiter", "Marker", "Prefix", "NextMarker"),
    ),
    "ListObjectVersions": ListingSpec(
        marker="KeyMarker",
        next_marker="NextKeyMarker",
        token=None,
        next_token=None,
        entries=(("Versions", "Key"), ("DeleteMarkers", "Key"), _COMMON),
        id_markers=("VersionIdMarker",),
        next_id_marker="NextVersionIdMarker",
        id_field="VersionId",
        order=("LastModified", True),
        encoded=("KeyMarker", "NextKeyMarker", "Prefix", "Delimiter"),
    ),
    "ListMultipartUploads": ListingSpec(
        marker="KeyMarker",
        next_marker="NextKeyMarker",
        token=None,
        next_token=None,
        entries=(("Uploads", "Key"), _COMMON),
        id_markers=("UploadIdMarker",),
        next_id_marker="NextUploadIdMarker",
        id_field="UploadId",
        limit="MaxUploads",
        order=("Initiated", False),
        encoded=("KeyMarker", "NextKeyMarker", "Prefix", "Delimiter"),
    ),
}


@attrs.frozen
class OpSpec:
    """How one operation is routed and what in its response names buckets and keys."""

    name: str  # "GetObject"
    method: str  # "get_object"
    kind: Kind
    embeds_names: bool  # the payload carries names a renaming route cannot keep
    listing: ListingSpec | None = None
    out_bucket: tuple[str, ...] = ()  # top-level output members holding the bucket
    out_key: tuple[str, ...] = ()  # top-level output members holding the key
    out_location: bool = False  # output "Location" embeds bucket (and key)
    out_arn: bool = False  # output "BucketArn" embeds the bucket
    streaming_output: bool = False
    #: Whether the operation changes anything (objects, buckets or their configuration).
    mutates: bool = True
    #: Whether an object/bucket response has any member to translate.
    translates_output: bool = attrs.field(init=False, eq=False, repr=False)

    def __attrs_post_init__(self) -> None:
        translates = bool(self.out_bucket or self.out_key or self.out_location or self.out_arn)
        object.__setattr__(self, "translates_output", translates)


# Shapes whose values are bucket names, keys, key prefixes or key markers.
_NAME_SHAPES = frozenset(
    {
        "BucketName",
        "ObjectKey",
        "Prefix",
        "StartAfter",
        "Marker",
        "KeyMarker",
        "NextMarker",
        "NextKeyMarker",
        "TargetBucket",
        "TargetPrefix",
        "KeyPrefixEquals",
        "ReplaceKeyPrefixWith",
        "ReplaceKeyWith",
        "LocationPrefix",
        "FilterRuleValue",  # an event notification's key prefix or suffix filter
        "Policy",  # a JSON policy names "arn:aws:s3:::bucket/key" resources
    }
)
# Reads sent as POST (reviewed).
_POSTED_READS = frozenset({"SelectObjectContent"})
# A tag's Key shares the ObjectKey shape: it is not an object key.
_TAG_MEMBERS = frozenset({"Tag", "Tags", "TagSet", "Tagging"})


def _nested_names(shape: Shape, top: bool, seen: frozenset[str]) -> Iterator[str]:
    """Name-bearing shapes below the top level of ``shape``."""
    if isinstance(shape, StructureShape):
        if shape.name in seen:
            return
        for member_name, member in shape.members.items():
            if member_name in _TAG_MEMBERS:
                continue
            if not top and member.name in _NAME_SHAPES:
                yield member_name
            yield from _nested_names(member, False, seen | {shape.name})
    elif isinstance(shape, ListShape):
        yield from _nested_names(shape.member, False, seen)
    elif isinstance(shape, MapShape):
        yield from _nested_names(shape.value, False, seen)


def _members(shape: Shape | None) -> Mapping[str, Shape]:
    return shape.members if isinstance(shape, StructureShape) else {}


def _list_entry_keys(shape: Shape | None) -> list[str]:
    """Top-level output lists whose entries carry an object ``Key`` (or a ``Prefix``)."""
    found = []
    for name, member in _members(shape).items():
        if name in _TAG_MEMBERS:
            continue
        if isinstance(member, ListShape) and isinstance(member.member, StructureShape):
            entry = member.member.members
            if ("Key" in entry and entry["Key"].name == "ObjectKey") or name == "CommonPrefixes":
                found.append(name)
    return found


def classify(op: OperationModel) -> OpSpec:
    """The table row of one operation, derived from its input and output shapes."""
    ins, outs = _members(op.input_shape), _members(op.output_shape)
    name = op.name
    if "Bucket" not in ins:
        kind = Kind.ALL_BUCKETS if "Buckets" in outs else Kind.NO_BUCKET
    elif "CopySource" in ins:
        kind = Kind.COPY
    elif "RenameSource" in ins:
        kind = Kind.RENAME
    elif "Delete" in ins:
        kind = Kind.DELETE_OBJECTS
    elif name in LISTINGS or (_list_entry_keys(op.output_shape) and "Key" not in ins):
        kind = Kind.LISTING
    elif "Key" in ins:
        kind = Kind.OBJECT
    else:
        kind = Kind.BUCKET
    nested: list[str] = []
    if kind in (Kind.OBJECT, Kind.BUCKET, Kind.COPY, Kind.RENAME):
        for shape in (op.input_shape, op.output_shape):
            if shape is not None:
                nested.extend(_nested_names(shape, True, frozenset()))
        nested.extend(m for m, s in ins.items() if s.name == "Policy")
        nested.extend(m for m, s in outs.items() if s.name == "Policy")
    if kind is Kind.LISTING and name not in LISTINGS:
        # A listing botwo has not reviewed: only an identical route passes it unchanged.
        nested.append("<unreviewed listing>")
    streaming = bool(op.has_streaming_output)
    # What changes state is what S3 serves over PUT, POST and DELETE, except SELECT, a
    # read that is POSTed because its query is a request body.
    mutates = op.http.get("method") not in ("GET", "HEAD") and name not in _POSTED_READS
    return OpSpec(
        name=name,
        method=xform_name(name),
        kind=kind,
        embeds_names=bool(nested),
        listing=LISTINGS.get(name),
        out_bucket=tuple(m for m, s in outs.items() if s.name == "BucketName" and m in ("Bucket", "Name")),
        out_key=tuple(m for m, s in outs.items() if m == "Key" and s.name == "ObjectKey"),
        out_location=outs.get("Location") is not None and outs["Location"].name == "Location",
        out_arn="BucketArn" in outs,
        streaming_output=streaming,
        mutates=mutates,
    )


@functools.cache
def operation_table(model: ServiceModel) -> Mapping[str, OpSpec]:
    """Every operation of the service model, keyed by its Python method name."""
    table = {}
    for name in model.operation_names:
        spec = classify(model.operation_model(name))
        table[spec.method] = spec
    return table
