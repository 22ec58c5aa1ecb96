"""Must type-check with mypy-boto3-s3 installed (alone, or from boto3-stubs[s3]).

Checked by tests/test_typing.py (and by ``nox -s lint``); the lines that must not type-check
are in check_mypy_boto3_s3_errors.py.
"""

from __future__ import annotations

from typing import Any, assert_type

import boto3
from mypy_boto3_s3.client import S3Client
from mypy_boto3_s3.paginator import ListObjectsV2Paginator
from mypy_boto3_s3.service_resource import Bucket, S3ServiceResource
from mypy_boto3_s3.type_defs import GetObjectOutputTypeDef

import botwo

# What boto3 users write keeps working with botwo's clients in place of boto3's.
s3: S3Client = botwo.client("s3")
s3 = botwo.client("s3", config="botwo.toml")
s3 = botwo.client({"s3": boto3.client("s3")}, [{"bucket_name": "*", "client": "s3"}])
r: S3ServiceResource = botwo.resource("s3")
r = botwo.resource({"s3": boto3.client("s3")}, [{"bucket_name": "*", "client": "s3"}])

# botwo's own view of the same client.
x: botwo.RoutingClient = botwo.client("s3")
assert_type(x.rules, tuple[botwo.Rule, ...])

# Not annotated: both at once, boto3's operations and botwo's members.
c = botwo.client("s3")
assert_type(c.get_object(Bucket="b", Key="k"), GetObjectOutputTypeDef)
assert_type(c.get_paginator("list_objects_v2"), ListObjectsV2Paginator)
assert_type(c.route("b", "k"), botwo.RouteDecision)
assert_type(c.settings, botwo.Settings | None)
assert_type(c.backends["s3"], Any)
only_boto3: S3Client = c
only_botwo: botwo.RoutingClient = c
assert_type(botwo.resource("s3").Bucket("b"), Bucket)
