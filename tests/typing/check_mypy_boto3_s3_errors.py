"""Lines that must NOT type-check with mypy-boto3-s3 installed, each marked with the error code
that mypy must report on it (``# error: CODE``): tests/test_typing.py checks that these are
exactly the errors, on exactly these lines.
"""

from __future__ import annotations

from mypy_boto3_s3.client import S3Client

import botwo

s3: S3Client = botwo.client("s3")
s3.get_object(Bucket=1, Key="k")  # error: arg-type
s3.get_objekt(Bucket="b", Key="k")  # error: attr-defined
print(s3.rules)  # error: attr-defined  (boto3's view: annotate botwo.RoutingClient for botwo's)

c = botwo.client("s3")
c.get_object(Bucket=1, Key="k")  # error: arg-type
c.get_object(Bucket="b")  # error: call-arg
c.get_objekt(Bucket="b", Key="k")  # error: attr-defined
c.put_object(Bucket="b", Key="k", Body=3.5)  # error: arg-type
c.route(1)  # error: arg-type
n: int = c  # error: assignment
botwo.resource("s3").Bucket(1)  # error: arg-type

# The calls that botwo.client refuses at run time.
botwo.client("s3", [{"bucket_name": "*", "client": "s3"}])  # error: call-overload
botwo.client({"s3": c})  # error: call-overload
botwo.client("s3", region_name="eu-west-1")  # error: call-overload
