"""Every operation of the installed S3 model is classified, and the table is reviewed.

The kinds below were reviewed by hand against the S3 API reference. When botocore adds
an operation, ``test_every_operation_is_reviewed`` fails until it is added here (its
derived kind is then checked like the others).
"""

from __future__ import annotations

import fnmatch
import re
from pathlib import Path

import boto3
import pytest

from botwo._operations import Kind, operation_table

KINDS = {
    Kind.ALL_BUCKETS: {
        "ListBuckets",
        "ListDirectoryBuckets",
    },
    Kind.BUCKET: {
        "CreateBucket",
        "CreateBucketMetadataConfiguration",
        "CreateBucketMetadataTableConfiguration",
        "CreateSession",
        "DeleteBucket",
        "DeleteBucketAnalyticsConfiguration",
        "DeleteBucketCors",
        "DeleteBucketEncryption",
        "DeleteBucketIntelligentTieringConfiguration",
        "DeleteBucketInventoryConfiguration",
        "DeleteBucketLifecycle",
        "DeleteBucketMetadataConfiguration",
        "DeleteBucketMetadataTableConfiguration",
        "DeleteBucketMetricsConfiguration",
        "DeleteBucketOwnershipControls",
        "DeleteBucketPolicy",
        "DeleteBucketReplication",
        "DeleteBucketTagging",
        "DeleteBucketWebsite",
        "DeletePublicAccessBlock",
        "GetBucketAbac",
        "GetBucketAccelerateConfiguration",
        "GetBucketAcl",
        "GetBucketAnalyticsConfiguration",
        "GetBucketCors",
        "GetBucketEncryption",
        "GetBucketIntelligentTieringConfiguration",
        "GetBucketInventoryConfiguration",
        "GetBucketLifecycle",
        "GetBucketLifecycleConfiguration",
        "GetBucketLocation",
        "GetBucketLogging",
        "GetBucketMetadataConfiguration",
        "GetBucketMetadataTableConfiguration",
        "GetBucketMetricsConfiguration",
        "GetBucketNotification",
        "GetBucketNotificationConfiguration",
        "GetBucketOwnershipControls",
        "GetBucketPolicy",
        "GetBucketPolicyStatus",
        "GetBucketReplication",
        "GetBucketRequestPayment",
        "GetBucketTagging",
        "GetBucketVersioning",
        "GetBucketWebsite",
        "GetObjectLockConfiguration",
        "GetPublicAccessBlock",
        "HeadBucket",
        "ListBucketAnalyticsConfigurations",
        "ListBucketIntelligentTieringConfigurations",
        "ListBucketInventoryConfigurations",
        "ListBucketMetricsConfigurations",
        "PutBucketAbac",
        "PutBucketAccelerateConfiguration",
        "PutBucketAcl",
        "PutBucketAnalyticsConfiguration",
        "PutBucketCors",
        "PutBucketEncryption",
        "PutBucketIntelligentTieringConfiguration",
        "PutBucketInventoryConfiguration",
        "PutBucketLifecycle",
        "PutBucketLifecycleConfiguration",
        "PutBucketLogging",
        "PutBucketMetricsConfiguration",
        "PutBucketNotification",
        "PutBucketNotificationConfiguration",
        "PutBucketOwnershipControls",
        "PutBucketPolicy",
        "PutBucketReplication",
        "PutBucketRequestPayment",
        "PutBucketTagging",
        "PutBucketVersioning",
        "PutBucketWebsite",
        "PutObjectLockConfiguration",
        "PutPublicAccessBlock",
        "UpdateBucketMetadataAnnotationTableConfiguration",
        "UpdateBucketMetadataInventoryTableConfiguration",
        "UpdateBucketMetadataJournalTableConfiguration",
    },
    Kind.COPY: {
        "CopyObject",
        "UploadPartCopy",
    },
    Kind.DELETE_OBJECTS: {
        "DeleteObjects",
    },
    Kind.LISTING: {
        "ListMultipartUploads",
        "ListObjectVersions",
        "ListObjects",
        "ListObjectsV2",
    },
    Kind.NO_BUCKET: {
        "WriteGetObjectResponse",
    },
    Kind.OBJECT: {
        "AbortMultipartUpload",
        "CompleteMultipartUpload",
        "CreateMultipartUpload",
        "DeleteObject",
        "DeleteObjectAnnotation",
        "DeleteObjectTagging",
        "GetObject",
        "GetObjectAcl",
        "GetObjectAnnotation",
        "GetObjectAttributes",
        "GetObjectLegalHold",
        "GetObjectRetention",
        "GetObjectTagging",
        "GetObjectTorrent",
        "HeadObject",
        "ListObjectAnnotations",
        "ListParts",
        "PutObject",
        "PutObjectAcl",
        "PutObjectAnnotation",
        "PutObjectLegalHold",
        "PutObjectRetention",
        "PutObjectTagging",
        "RestoreObject",
        "SelectObjectContent",
        "UpdateObjectEncryption",
        "UploadPart",
    },
    Kind.RENAME: {
        "RenameObject",
    },
}
EMBEDS_NAMES = {
    "GetBucketAnalyticsConfiguration",
    "GetBucketIntelligentTieringConfiguration",
    "GetBucketInventoryConfiguration",
    "GetBucketLifecycle",
    "GetBucketLifecycleConfiguration",
    "GetBucketLogging",
    "GetBucketMetricsConfiguration",
    "GetBucketNotificationConfiguration",
    "GetBucketPolicy",
    "GetBucketReplication",
    "GetBucketWebsite",
    "ListBucketAnalyticsConfigurations",
    "ListBucketIntelligentTieringConfigurations",
    "ListBucketInventoryConfigurations",
    "ListBucketMetricsConfigurations",
    "PutBucketAnalyticsConfiguration",
    "PutBucketIntelligentTieringConfiguration",
    "PutBucketInventoryConfiguration",
    "PutBucketLifecycle",
    "PutBucketLifecycleConfiguration",
    "PutBucketLogging",
    "PutBucketMetricsConfiguration",
    "PutBucketNotificationConfiguration",
    "PutBucketPolicy",
    "PutBucketReplication",
    "PutBucketWebsite",
    "RestoreObject",
}

# Operations that change nothing (reviewed): what a read-only rule lets through and what
# falls back. Every GET or HEAD of the model, and SelectObjectContent, a read that is
# POSTed because its SQL query is a request body. Every other operation (PUT, POST,
# DELETE) mutates. CreateSession (a GET) mints S3 Express session credentials and
# changes no object, bucket or configuration.
READS = {
    "CreateSession",
    "GetBucketAbac",
    "GetBucketAccelerateConfiguration",
    "GetBucketAcl",
    "GetBucketAnalyticsConfiguration",
    "GetBucketCors",
    "GetBucketEncryption",
    "GetBucketIntelligentTieringConfiguration",
    "GetBucketInventoryConfiguration",
    "GetBucketLifecycle",
    "GetBucketLifecycleConfiguration",
    "GetBucketLocation",
    "GetBucketLogging",
    "GetBucketMetadataConfiguration",
    "GetBucketMetadataTableConfiguration",
    "GetBucketMetricsConfiguration",
    "GetBucketNotification",
    "GetBucketNotificationConfiguration",
    "GetBucketOwnershipControls",
    "GetBucketPolicy",
    "GetBucketPolicyStatus",
    "GetBucketReplication",
    "GetBucketRequestPayment",
    "GetBucketTagging",
    "GetBucketVersioning",
    "GetBucketWebsite",
    "GetObject",
    "GetObjectAcl",
    "GetObjectAnnotation",
    "GetObjectAttributes",
    "GetObjectLegalHold",
    "GetObjectLockConfiguration",
    "GetObjectRetention",
    "GetObjectTagging",
    "GetObjectTorrent",
    "GetPublicAccessBlock",
    "HeadBucket",
    "HeadObject",
    "ListBucketAnalyticsConfigurations",
    "ListBucketIntelligentTieringConfigurations",
    "ListBucketInventoryConfigurations",
    "ListBucketMetricsConfigurations",
    "ListBuckets",
    "ListDirectoryBuckets",
    "ListMultipartUploads",
    "ListObjectAnnotations",
    "ListObjectVersions",
    "ListObjects",
    "ListObjectsV2",
    "ListParts",
    "SelectObjectContent",
}


@pytest.fixture(scope="module")
def table():  # type: ignore[no-untyped-def]
    model = boto3.client("s3", region_name="us-east-1").meta.service_model
    return {spec.name: spec for spec in operation_table(model).values()}


def test_every_operation_is_reviewed(table) -> None:  # type: ignore[no-untyped-def]
    reviewed = set().union(*KINDS.values())
    unreviewed = sorted(set(table) - reviewed)
    assert not unreviewed, f"classify these new S3 operations in tests/test_operations.py: {unreviewed}"


@pytest.mark.parametrize("kind", list(Kind))
def test_kinds_are_as_reviewed(table, kind: Kind) -> None:  # type: ignore[no-untyped-def]
    derived = {name for name, spec in table.items() if spec.kind is kind}
    assert derived == KINDS.get(kind, set()) & set(table)


def test_payloads_that_embed_names_are_as_reviewed(table) -> None:  # type: ignore[no-untyped-def]
    assert {name for name, spec in table.items() if spec.embeds_names} == EMBEDS_NAMES & set(table)


def test_tag_keys_are_not_object_keys(table) -> None:  # type: ignore[no-untyped-def]
    # Tag.Key shares the ObjectKey shape; tagging calls must not be treated as listings
    # or as payloads with embedded object keys.
    for name in ("GetBucketTagging", "PutBucketTagging", "GetObjectTagging", "PutObjectTagging"):
        assert not table[name].embeds_names
    assert table["GetBucketTagging"].kind is Kind.BUCKET


def test_operations_that_mutate_are_as_reviewed(table) -> None:  # type: ignore[no-untyped-def]
    assert {name for name, spec in table.items() if not spec.mutates} == READS & set(table)


def test_writes_are_of_the_kinds_a_read_only_rule_stops(table) -> None:  # type: ignore[no-untyped-def]
    # Which operations mutate is pinned by the hand-reviewed READS above; here, by kind:
    # every write path is one that the read-only checks cover.
    writes = {spec.kind for spec in table.values() if spec.mutates}
    assert writes == {Kind.OBJECT, Kind.BUCKET, Kind.COPY, Kind.RENAME, Kind.DELETE_OBJECTS, Kind.NO_BUCKET}
    assert not any(spec.mutates for spec in table.values() if spec.kind in (Kind.LISTING, Kind.ALL_BUCKETS))


def test_the_documented_table_of_reads_is_the_model(table) -> None:  # type: ignore[no-untyped-def]
    """docs/rules.md's table of reads and writes names every operation on the right side."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "rules.md").read_text()
    section = text.split("### Which operations are reads", 1)[1].split("\n## ", 1)[0]
    sides: dict[str, list[str]] = {"read": [], "write": []}
    for row in section.splitlines():
        cells = row.split("|")
        if len(cells) != 5 or cells[1].strip() in ("", "---", "Presigned"):
            continue
        sides["read"] += re.findall(r"`([a-z0-9_*]+)`", cells[2])
        sides["write"] += re.findall(r"`([a-z0-9_*]+)`", cells[3])

    def side(method: str) -> set[str]:
        return {
            name for name, patterns in sides.items() if any(fnmatch.fnmatchcase(method, p) for p in patterns)
        }

    for spec in table.values():
        if spec.kind is Kind.NO_BUCKET:
            continue
        assert side(spec.method) == ({"write"} if spec.mutates else {"read"}), spec.method
