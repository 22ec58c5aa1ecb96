"""Must type-check without boto3's S3 stubs: botwo's clients are then what they always were to
a type checker, routing clients whose S3 operations are Any, and its resources are Any.

Checked by tests/test_typing.py, with the stubs hidden from mypy.
"""

from __future__ import annotations

from typing import Any, assert_type

import boto3

import botwo

x: botwo.RoutingClient = botwo.client("s3")
x = botwo.client({"s3": boto3.client("s3")}, [{"bucket_name": "*", "client": "s3"}])

c = botwo.client("s3")
assert_type(c.rules, tuple[botwo.Rule, ...])
assert_type(c.route("b", "k"), botwo.RouteDecision)
assert_type(c.get_object(Bucket=1, Key="k"), Any)
assert_type(c.any_attribute, Any)
assert_type(botwo.resource("s3"), Any)

c.route(1)  # error: arg-type
botwo.client("s3", region_name="eu-west-1")  # error: call-overload
