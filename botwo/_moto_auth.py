"""Signature checking for the local S3 servers: each server answers only its own credentials.

Theory of operation
-------------------
moto can authenticate requests against its IAM backend: once its setting
``INITIAL_NO_AUTH_ACTION_COUNT`` is 0, every S3 handler builds an ``S3IAMRequest``, which
finds the IAM user that owns the request's access key (or fails with
``InvalidAccessKeyId``), re-signs the request with that user's secret (or fails with
``SignatureDoesNotMatch``) and asks the user's policies whether the action is allowed (or
fails with ``AccessDenied``), each with HTTP 403, as S3 answers. :func:`enable` turns that
on in the server process started by :class:`botwo.testing.LocalS3Server`:

1. One IAM user holds exactly the server's access key and secret, with an inline policy
   that allows ``s3:*``, in every partition's IAM backend; a ``/moto-api/reset`` forgets
   IAM with everything else, so the user is registered again after each reset.
2. moto re-signs only a SigV4 ``Authorization`` header. Any other request (a presigned
   URL, SigV2, a browser-form POST, no signature at all) makes its ``S3IAMRequest`` fail
   with a ``KeyError`` or ``IndexError``, which the client sees as HTTP 500. The
   ``S3IAMRequest`` class is replaced by :class:`_Request`, which leaves the SigV4 header
   to moto and reads the other forms itself (:func:`read_signature`): it hands moto the
   access key and credential scope, so that the key lookup, its errors and the policy
   check stay moto's, and recomputes the signature with botocore's own signers.
3. A request with no signature is refused with ``AccessDenied``, as S3 refuses anonymous
   requests that no policy allows (a CORS preflight ``OPTIONS`` is answered, as on S3).

Presigned URLs and POST policies also expire here as on S3 (``AccessDenied``, "Request
has expired" / "Policy expired"). What is not checked is listed in docs/testing.md.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hmac
import json
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import unquote, urlsplit

import attrs

__all__ = ["ENV_ACCESS_KEY", "ENV_SECRET_KEY", "Signed", "enable", "read_signature"]

#: The environment variables that hand the server process its credentials (never its
#: command line, which other users of the machine can read).
ENV_ACCESS_KEY = "BOTWO_SERVER_ACCESS_KEY"
ENV_SECRET_KEY = "BOTWO_SERVER_SECRET_KEY"

#: The IAM user that holds the server's credentials, and what it may do: all of S3
#: (botocore signs the directory-bucket calls, such as ListDirectoryBuckets, as s3express).
USER = "botwo-local-server"
ACTIONS = ["s3:*", "s3express:*"]
POLICY = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ACTIONS, "Resource": "*"}]}
)

SIGV4_TIMESTAMP = "%Y%m%dT%H%M%SZ"
#: S3's messages for an expired presigned URL (False) and an expired POST policy (True).
EXPIRED = {False: "Request has expired", True: "Invalid according to Policy: Policy expired."}
#: The scope region of a SigV2 request, which names none (moto's S3 also defaults to it).
SIGV2_REGION = "us-east-1"


@attrs.frozen
class Signed:
    """How one request not signed by a SigV4 header is signed.

    ``form`` is one of ``query-v4``, ``query-v2``, ``header-v2``, ``post-v4``, ``post-v2``
    or ``anonymous``; ``scope`` is the SigV4 credential scope (``date/region/service``);
    ``sign`` recomputes the signature from a botocore ``Credentials``; ``expires`` is when
    a presigned URL or a POST policy stops being valid.
    """

    form: str
    access_key: str = ""
    scope: tuple[str, str, str] = ("", SIGV2_REGION, "s3")
    signature: str = ""
    sign: Callable[[Any], str] = attrs.field(default=lambda credentials: "", eq=False, repr=False)
    expires: datetime | None = None
    token: str | None = None

    def matches(self, credentials: Any) -> bool:
        return hmac.compare_digest(self.sign(credentials).encode(), self.signature.encode())


class Unreadable(ValueError):
    """A signature whose parts cannot be read (S3 refuses the request)."""


def _pairs(query: str) -> list[tuple[str, str]]:
    """The raw ``name=value`` pairs of a query string, still percent-encoded."""
    return [(name, value) for name, _, value in (p.partition("=") for p in query.split("&") if p)]


def _one(params: Mapping[str, str], name: str) -> str:
    try:
        return params[name]
    except KeyError:
        raise Unreadable(f"{name} is missing") from None


def _sigv4_time(text: str) -> datetime:
    try:
        return datetime.strptime(text, SIGV4_TIMESTAMP).replace(tzinfo=UTC)
    except ValueError:
        raise Unreadable(f"not a SigV4 timestamp: {text!r}") from None


def _scope(credential: str) -> tuple[str, tuple[str, str, str]]:
    """``AKID/date/region/service/aws4_request`` -> access key, (date, region, service)."""
    parts = credential.split("/")
    if len(parts) != 5 or parts[4] != "aws4_request":
        raise Unreadable(f"not a SigV4 credential: {credential!r}")
    return parts[0], (parts[1], parts[2], parts[3])


def _auth_path(path: str) -> str:
    # botocore signs a bucket-only path as "/bucket/" (handlers.set_auth_path: S3's
    # canonical resource of a bucket ends with a slash); keys and "/" are signed as sent.
    if path.count("/") == 1 and path != "/":
        return path + "/"
    return path


def _v2_signed(name: str, *also: str) -> bool:
    return name in ("content-md5", "content-type", *also) or name.startswith("x-amz-")


def _v2_headers(headers: Mapping[str, str], moved: Mapping[str, str] | None = None) -> Any:
    """The headers SigV2 signs (``Content-MD5``, ``Content-Type``, ``Date``, ``x-amz-*``),
    as botocore's ``HTTPHeaders``; ``moved`` (from a presigned URL's query) replaces those of
    the same name."""
    from botocore.awsrequest import HTTPHeaders

    chosen = {name: value for name, value in headers.items() if _v2_signed(name, "date")}
    chosen.update(moved or {})
    found = HTTPHeaders()
    for name, value in chosen.items():
        found[name] = value
    return found


def _hmac_v1(credentials: Any, date: str) -> Any:
    """botocore's SigV2 signer, with the date the request was signed with (botocore's own
    puts the current time in the string to sign)."""
    from botocore.auth import HmacV1Auth

    class Dated(HmacV1Auth):
        def _get_date(self) -> str:
            return date

    return Dated(credentials)


def _query_v4(method: str, url: str, path: str, query: str, headers: Mapping[str, str]) -> Signed:
    pairs = _pairs(query)
    params = {name: unquote(value) for name, value in pairs}
    access_key, scope = _scope(_one(params, "X-Amz-Credential"))
    timestamp = _one(params, "X-Amz-Date")
    try:
        lifetime = int(_one(params, "X-Amz-Expires"))
    except ValueError:
        raise Unreadable("X-Amz-Expires is not a number") from None
    signed_headers = _one(params, "X-Amz-SignedHeaders").split(";")
    unsigned_query = "&".join(f"{n}={v}" for n, v in pairs if n != "X-Amz-Signature")

    def sign(credentials: Any) -> str:
        from botocore.auth import S3SigV4QueryAuth
        from botocore.awsrequest import AWSRequest

        request = AWSRequest(
            method=method,
            url=f"{url}{path}?{unsigned_query}",
            headers={name: headers[name] for name in signed_headers if name in headers},
        )
        request.context["timestamp"] = timestamp
        signer = S3SigV4QueryAuth(credentials, scope[2], scope[1], lifetime)
        canonical = signer.canonical_request(request)
        return str(signer.signature(signer.string_to_sign(request, canonical), request))

    return Signed(
        "query-v4",
        access_key,
        scope,
        _one(params, "X-Amz-Signature"),
        sign,
        _sigv4_time(timestamp) + timedelta(seconds=lifetime),
        params.get("X-Amz-Security-Token"),
    )


def _query_v2(method: str, url: str, path: str, query: str, headers: Mapping[str, str]) -> Signed:
    pairs = _pairs(query)
    params = {name: unquote(value) for name, value in pairs}
    expires = _one(params, "Expires")
    try:
        until = datetime.fromtimestamp(int(expires), UTC)
    except (ValueError, OverflowError):
        raise Unreadable("Expires is not a time") from None
    # botocore moves the signed Content-MD5, Content-Type and x-amz-* headers into the query.
    moved = {name.lower(): value for name, value in params.items() if _v2_signed(name.lower())}

    def sign(credentials: Any) -> str:
        split = urlsplit(f"{url}{path}?{query}")
        signer = _hmac_v1(credentials, expires)
        text = signer.canonical_string(method, split, _v2_headers(headers, moved), auth_path=_auth_path(path))
        return str(signer.sign_string(text))

    return Signed(
        "query-v2",
        _one(params, "AWSAccessKeyId"),
        signature=_one(params, "Signature"),
        sign=sign,
        expires=until,
        token=params.get("x-amz-security-token"),
    )


def _header_v2(method: str, url: str, path: str, query: str, headers: Mapping[str, str]) -> Signed:
    access_key, colon, signature = headers["authorization"].removeprefix("AWS ").partition(":")
    if not colon:
        raise Unreadable("not a SigV2 Authorization header")

    def sign(credentials: Any) -> str:
        split = urlsplit(f"{url}{path}" + (f"?{query}" if query else ""))
        signer = _hmac_v1(credentials, headers.get("date", ""))
        text = signer.canonical_string(method, split, _v2_headers(headers), auth_path=_auth_path(path))
        return str(signer.sign_string(text))

    token = headers.get("x-amz-security-token")
    return Signed("header-v2", access_key, signature=signature, sign=sign, token=token)


def _policy_expiry(policy: str) -> datetime:
    try:
        document = json.loads(base64.b64decode(policy, validate=True))
        return datetime.fromisoformat(document["expiration"])
    except (binascii.Error, ValueError, TypeError, KeyError):
        raise Unreadable("the POST policy has no readable expiration") from None


def _post(fields: Mapping[str, str]) -> Signed:
    """A browser-form POST: the form's policy is what is signed."""
    policy = _one(fields, "policy")
    expires = _policy_expiry(policy)
    token = fields.get("x-amz-security-token")
    if "x-amz-signature" in fields:
        access_key, scope = _scope(_one(fields, "x-amz-credential"))
        timestamp = _one(fields, "x-amz-date")

        def sign_v4(credentials: Any) -> str:
            from botocore.auth import SigV4Auth
            from botocore.awsrequest import AWSRequest

            request = AWSRequest()
            request.context["timestamp"] = timestamp
            return str(SigV4Auth(credentials, scope[2], scope[1]).signature(policy, request))

        return Signed("post-v4", access_key, scope, fields["x-amz-signature"], sign_v4, expires, token)

    def sign_v2(credentials: Any) -> str:
        from botocore.auth import HmacV1Auth

        return str(HmacV1Auth(credentials).sign_string(policy))

    access_key, signature = _one(fields, "awsaccesskeyid"), _one(fields, "signature")
    return Signed("post-v2", access_key, signature=signature, sign=sign_v2, expires=expires, token=token)


def read_signature(
    method: str, path: str, headers: Mapping[str, str], form: Mapping[str, str] | None = None
) -> Signed | None:
    """How a request is signed, ``None`` for a SigV4 ``Authorization`` header (moto's own).

    ``path`` is the raw path and query as received, ``headers`` the request's headers and
    ``form`` the fields of a POST form (names in any case). Raises :class:`Unreadable`.
    """
    headers = {name.lower(): value for name, value in headers.items()}
    url = "http://" + headers.get("host", "")
    raw_path, _, query = path.partition("?")
    authorization = headers.get("authorization", "")
    if authorization.startswith("AWS4-HMAC-SHA256 "):
        return None
    if authorization.startswith("AWS "):
        return _header_v2(method, url, raw_path, query, headers)
    if authorization:
        raise Unreadable("an Authorization header of another kind")
    names = {name for name, _ in _pairs(query)}
    if "X-Amz-Signature" in names or "X-Amz-Algorithm" in names:
        return _query_v4(method, url, raw_path, query, headers)
    if "Signature" in names and "AWSAccessKeyId" in names:
        return _query_v2(method, url, raw_path, query, headers)
    fields = {name.lower(): value for name, value in (form or {}).items()}
    if method == "POST" and "policy" in fields:
        return _post(fields)
    return Signed("anonymous")


# -- the server side: moto's IAM, with the other signature forms ----------------------------


def _register(access_key: str, secret_key: str) -> None:
    """The IAM user that owns the server's credentials, in every partition's IAM backend."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.iam.models import iam_backends
    from moto.utilities.utils import PARTITION_NAMES

    account = os.environ.get("MOTO_ACCOUNT_ID", DEFAULT_ACCOUNT_ID)
    for partition in PARTITION_NAMES:
        backend = iam_backends[account][partition]
        if USER in backend.users:
            continue
        backend.create_user(SIGV2_REGION, USER)
        key = backend.create_access_key(USER)
        # moto makes its own key: give it the server's, under the name moto looks it up by.
        del backend.access_keys[key.physical_resource_id]
        key.access_key_id, key.secret_access_key = access_key, secret_key
        backend.access_keys[key.physical_resource_id] = key
        backend.put_user_policy(USER, "s3", POLICY)


def _request_class() -> type:
    """moto's ``S3IAMRequest``, reading the signature forms that moto's own cannot."""
    from moto.iam.access_control import S3IAMRequest
    from moto.s3.exceptions import S3ClientError

    class _Request(S3IAMRequest):  # type: ignore[misc]
        def __init__(
            self,
            account_id: str,
            method: str,
            path: str,
            data: dict[str, Any],
            body: bytes,
            headers: Any,
            action: str,
        ) -> None:
            self._data = data
            form = {k: v[0] for k, v in data.items() if isinstance(v, list) and v and isinstance(v[0], str)}
            try:
                self._signed = read_signature(method, path, headers, form if method == "POST" else None)
            except Unreadable:
                self._raise_access_denied()
            signed = self._signed
            if signed is None:  # a SigV4 Authorization header: all moto's
                super().__init__(account_id, method, path, data, body, headers, action)
                return
            if signed.form == "anonymous":
                if method == "OPTIONS":
                    return  # a CORS preflight carries no credentials, on S3 too
                self._raise_access_denied()
            # moto reads the access key and the scope from a SigV4 header: hand it those.
            scoped = dict(headers.items())
            date, region, service = signed.scope
            scoped["Authorization"] = f"Credential={signed.access_key}/{date}/{region}/{service}/aws4_request"
            if signed.token is not None:
                scoped["X-Amz-Security-Token"] = signed.token
            super().__init__(account_id, method, path, data, body, scoped, action)

        def check_signature(self) -> None:
            signed = self._signed
            if signed is None:
                super().check_signature()
                return
            if signed.form == "anonymous":
                return
            if not signed.matches(self._access_key.create_credentials()):
                self._raise_signature_does_not_match()
            if signed.expires is not None and datetime.now(UTC) > signed.expires:
                raise S3ClientError("AccessDenied", EXPIRED[signed.form.startswith("post")])

        def check_action_permitted(self, resource: str) -> None:
            if self._signed is not None and self._signed.form == "anonymous":
                return  # only a preflight gets here
            super().check_action_permitted(resource)

    return _Request


def enable(access_key: str, secret_key: str) -> None:
    """Make this process's moto check every S3 request against these credentials.

    Raises ``RuntimeError`` when moto's internals are not what this expects: a server that
    would accept any credentials must not start as one that checks them.
    """
    try:
        import moto.iam.access_control as access_control
        from moto import settings
        from moto.moto_api._internal.models import MotoAPIBackend

        request_class = _request_class()
        _register(access_key, secret_key)
    except (ImportError, AttributeError, TypeError, KeyError) as err:  # pragma: no cover - another moto
        raise RuntimeError(f"this moto cannot check signatures: {err!r}") from err
    reset = MotoAPIBackend.reset

    @functools.wraps(reset)
    def reset_keeping_the_user(self: Any) -> None:
        reset(self)
        _register(access_key, secret_key)

    setattr(MotoAPIBackend, "reset", reset_keeping_the_user)  # noqa: B010
    setattr(access_control, "S3IAMRequest", request_class)  # noqa: B010
    settings.INITIAL_NO_AUTH_ACTION_COUNT = 0
