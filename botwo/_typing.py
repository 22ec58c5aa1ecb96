"""The static types of :func:`botwo.client` and :func:`botwo.resource`, with or without boto3's stubs.

Theory of operation. To a type checker a botwo client should be what it stands in for:
``boto3.client("s3")``, which with the stubs of ``mypy-boto3-s3`` (alone, or from
``boto3-stubs[s3]``) is an ``S3Client`` whose every operation has its request and response
types. It is also a :class:`~botwo.RoutingClient` (``rules``, ``route``, ``settings``, ...),
and the stubs are the caller's choice, not a dependency of botwo. So the return type of
``botwo.client``, :class:`BotwoS3Client`, is a class that exists only for type checkers and
derives from both:

* ``mypy_boto3_s3``'s ``S3Client`` first, so that the operations, ``meta``, ``exceptions`` and
  the typed ``get_paginator``/``get_waiter`` overloads are boto3's: ``s3: S3Client =
  botwo.client(...)`` type-checks, and a call is checked as on boto3's client;
* :class:`~botwo.RoutingClient`, for botwo's own members, and so that ``s3:
  botwo.RoutingClient = botwo.client(...)`` type-checks too.

Without ``mypy-boto3-s3`` its import is ``Any`` (the import is ignored), and a class with an
``Any`` base is lenient: the result is what ``botwo.client`` was to a type checker before, a
``RoutingClient`` whose S3 operations are ``Any``, and it also fits any annotation. That is
how the other family of stubs, ``types-boto3-s3`` (from ``types-boto3[s3]``), is served: its
``S3Client`` is ``types_boto3_s3``'s, a different class, and ``s3: S3Client =
botwo.client(...)`` with it type-checks, the annotation then checking every call (unless
mypy-boto3-s3 is installed as well: then annotate with its ``S3Client``).
:class:`BotwoS3Resource` is ``mypy_boto3_s3``'s ``S3ServiceResource``, or ``Any`` as before.

At run time the names are the classes the objects derive from: ``RoutingClient`` and boto3's
``ServiceResource``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from boto3.resources.base import ServiceResource

from ._client import RoutingClient

__all__ = ["BotwoS3Client", "BotwoS3Resource"]

if TYPE_CHECKING:
    # Any to the type checker when mypy-boto3-s3 is not installed: ignore[import-not-found];
    # unused-ignore: when it is.
    from mypy_boto3_s3.client import S3Client  # type: ignore[import-not-found, unused-ignore]
    from mypy_boto3_s3.service_resource import S3ServiceResource  # type: ignore[import-not-found, unused-ignore]

    # misc: subclassing Any (no stubs); or, with them, the stubs' and RoutingClient's
    # signatures of boto3's own client methods (meta, get_paginator, ...) disagreeing:
    # the first base's, the stubs', are the ones a type checker uses.
    class BotwoS3Client(S3Client, RoutingClient):  # type: ignore[misc, unused-ignore]
        """A botwo client to a type checker: boto3's ``S3Client`` and a ``RoutingClient``."""

        # RoutingClient declares its generated operations as ``__getattr__ -> Any``; a
        # non-method here hides it (mypy falls back to ``__getattr__`` only if it is a
        # method), so that a misspelt operation is an error, as on boto3's client.
        __getattr__: None  # type: ignore[misc, assignment, unused-ignore]

    BotwoS3Resource = S3ServiceResource

else:
    BotwoS3Client = RoutingClient
    BotwoS3Resource = ServiceResource
