"""Must type-check with types-boto3-s3 installed (from types-boto3[s3]) and not mypy-boto3-s3:
that family's classes are types_boto3_s3's. botwo's clients are Any-like there, so they fit
its annotations, and the annotation then checks each call.

Checked by tests/test_typing.py, with mypy-boto3-s3 hidden from mypy.
"""

from __future__ import annotations

from typing import assert_type

from types_boto3_s3.client import S3Client
from types_boto3_s3.service_resource import S3ServiceResource
from types_boto3_s3.type_defs import GetObjectOutputTypeDef

import botwo

s3: S3Client = botwo.client("s3")
r: S3ServiceResource = botwo.resource("s3")
x: botwo.RoutingClient = botwo.client("s3")
assert_type(s3.get_object(Bucket="b", Key="k"), GetObjectOutputTypeDef)
assert_type(x.route("b", "k"), botwo.RouteDecision)

s3.get_object(Bucket=1, Key="k")  # error: arg-type
r.Bucket(1)  # error: arg-type
