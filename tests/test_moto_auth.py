"""The local servers check credentials as S3 does: each answers only its own.

Every form a client signs with is tried against real servers, right and wrong: SigV4 and
SigV2 headers, presigned URLs of both versions, browser-form POSTs of both versions, and
no signature at all. A wrong secret must fail with ``SignatureDoesNotMatch``, an unknown
access key with ``InvalidAccessKeyId``, both with HTTP 403.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from botwo._moto_auth import Signed, Unreadable, read_signature
from botwo.testing import LocalS3Server

#: botocore's names of the two signature versions, for calls and for presigning.
VERSIONS = ("s3v4", "s3")


@pytest.fixture
def lake(backends: dict[str, Any], servers: dict[str, LocalS3Server]) -> LocalS3Server:
    """The ``lake`` server, reset, holding ``bucket/k``."""
    backends["lake"].create_bucket(Bucket="bucket")
    backends["lake"].put_object(Bucket="bucket", Key="k", Body=b"value")
    return servers["lake"]


def client(server: LocalS3Server, version: str = "s3v4", **credentials: str) -> Any:
    """A client of ``server`` that signs with ``version`` (its own credentials unless given)."""
    config = Config(signature_version=version, s3={"addressing_style": "path"}, retries={"max_attempts": 1})
    return server.client(config=config, **credentials)


def authorization(made: Any) -> list[str]:
    """The ``Authorization`` headers ``made`` sends from now on."""
    seen: list[str] = []
    made.meta.events.register(
        "before-send.s3", lambda request, **_: seen.append(request.headers["Authorization"].decode())
    )
    return seen


def error(call: Any) -> tuple[str, int]:
    with pytest.raises(ClientError) as caught:
        call()
    return caught.value.response["Error"]["Code"], caught.value.response["ResponseMetadata"]["HTTPStatusCode"]


def fetch(request: urllib.request.Request | str) -> tuple[int, bytes]:
    """Status and body of a plain HTTP request (an error's XML body included)."""
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as err:
        with err:
            return err.code, err.read()


def code_of(body: bytes) -> str:
    return body.decode().partition("<Code>")[2].partition("</Code>")[0]


def form_post(post: dict[str, Any], data: bytes) -> urllib.request.Request:
    """A browser's multipart POST of a presigned POST's fields and one file."""
    boundary = uuid.uuid4().hex
    body = b""
    for name, value in post["fields"].items():
        body += f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
    body += f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="f"\r\n\r\n'.encode()
    body += data + f"\r\n--{boundary}--\r\n".encode()
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    return urllib.request.Request(post["url"], data=body, method="POST", headers=headers)


# -- signed calls -------------------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_client_with_the_servers_credentials_works(lake: LocalS3Server, version: str) -> None:
    made = client(lake, version)
    sent = authorization(made)
    made.put_object(Bucket="bucket", Key="dir/a b+c%?.txt", Body=b"awkward")
    assert made.get_object(Bucket="bucket", Key="dir/a b+c%?.txt")["Body"].read() == b"awkward"
    assert [b["Name"] for b in made.list_buckets()["Buckets"]] == ["bucket"]
    page = made.list_objects_v2(Bucket="bucket", Prefix="dir/a b+", Delimiter="/")
    assert [o["Key"] for o in page["Contents"]] == ["dir/a b+c%?.txt"]
    made.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": "dir/a b+c%?.txt"}]})
    # The version asked for is the one sent: each is checked in its own way.
    assert sent and all(a.startswith("AWS4-HMAC-SHA256 " if version == "s3v4" else "AWS ") for a in sent)


@pytest.mark.parametrize("version", VERSIONS)
def test_a_swapped_secret_fails_with_signature_does_not_match(
    lake: LocalS3Server, servers: dict[str, LocalS3Server], version: str
) -> None:
    wrong = client(lake, version, aws_secret_access_key=servers["s3"].secret_key)
    for call in (
        lambda: wrong.list_buckets(),
        lambda: wrong.get_object(Bucket="bucket", Key="k"),
        lambda: wrong.head_object(Bucket="bucket", Key="k"),
        lambda: wrong.put_object(Bucket="bucket", Key="k", Body=b"overwritten"),
        lambda: wrong.delete_object(Bucket="bucket", Key="k"),
        # moto answers a denied bulk delete with an error per key (HTTP 200); a bad signature not.
        lambda: wrong.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": "k"}]}),
    ):
        code, status = error(call)
        assert status == 403 and code in ("SignatureDoesNotMatch", "403")  # a HEAD has no body
    assert lake.client().get_object(Bucket="bucket", Key="k")["Body"].read() == b"value"


@pytest.mark.parametrize("version", VERSIONS)
def test_an_unknown_access_key_fails(lake: LocalS3Server, version: str) -> None:
    unknown = client(lake, version, aws_access_key_id="AKUNKNOWN0000000")
    assert error(lambda: unknown.list_objects_v2(Bucket="bucket")) == ("InvalidAccessKeyId", 403)
    assert error(lambda: unknown.list_buckets()) == ("InvalidAccessKeyId", 403)


def test_two_servers_do_not_accept_each_others_keys(
    backends: dict[str, Any], servers: dict[str, LocalS3Server]
) -> None:
    s3, lake = servers["s3"], servers["lake"]
    for server, other in ((s3, lake), (lake, s3)):
        assert server.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        theirs = server.client(aws_access_key_id=other.access_key, aws_secret_access_key=other.secret_key)
        assert error(lambda c=theirs: c.list_buckets()) == ("InvalidAccessKeyId", 403)


def test_the_credentials_are_still_checked_after_a_reset(servers: dict[str, LocalS3Server]) -> None:
    server = servers["oracle"]
    for _ in range(2):
        server.reset()  # moto's reset forgets IAM too; the server's user is registered again
        assert server.client().list_buckets()["Buckets"] == []
        wrong = server.client(aws_secret_access_key="not-" + server.secret_key)
        assert error(lambda c=wrong: c.list_buckets()) == ("SignatureDoesNotMatch", 403)


# -- presigned URLs and POSTs ---------------------------------------------------------------


@pytest.mark.parametrize("version", VERSIONS)
def test_a_presigned_url_is_checked(
    lake: LocalS3Server, servers: dict[str, LocalS3Server], version: str
) -> None:
    def url(expires: int = 300, key: str = "k", **credentials: str) -> str:
        signer = client(lake, version, **credentials)
        return str(
            signer.generate_presigned_url(
                "get_object", Params={"Bucket": "bucket", "Key": key}, ExpiresIn=expires
            )
        )

    good = url()
    assert ("X-Amz-Signature=" if version == "s3v4" else "AWSAccessKeyId=") in good
    assert fetch(good) == (200, b"value")
    lake.client().put_object(Bucket="bucket", Key="a b+c%?[x]", Body=b"awkward")
    assert fetch(url(key="a b+c%?[x]")) == (200, b"awkward")
    # The same signature for another key:
    tampered = good.replace("/bucket/k?", "/bucket/a%20b%2Bc%25%3F%5Bx%5D?")
    for bad, expected in (
        (url(aws_secret_access_key=servers["s3"].secret_key), "SignatureDoesNotMatch"),
        (url(key="missing", aws_secret_access_key="wrong"), "SignatureDoesNotMatch"),
        (url(aws_access_key_id="AKUNKNOWN0000000"), "InvalidAccessKeyId"),
        (url(expires=-1), "AccessDenied"),  # expired
        (tampered, "SignatureDoesNotMatch"),
    ):
        status, body = fetch(bad)
        assert (status, code_of(body)) == (403, expected), bad
    # A presigned PUT: the Content-Type it was signed with is the one to send (SigV2 signs it).
    params = {"Bucket": "bucket", "Key": "up", "ContentType": "application/octet-stream"}
    put = client(lake, version).generate_presigned_url("put_object", Params=params)
    headers = {"Content-Type": "application/octet-stream"}
    assert fetch(urllib.request.Request(put, data=b"uploaded", method="PUT", headers=headers))[0] == 200
    assert lake.client().get_object(Bucket="bucket", Key="up")["Body"].read() == b"uploaded"


@pytest.mark.parametrize("version", VERSIONS)
def test_a_presigned_post_is_checked(
    lake: LocalS3Server, servers: dict[str, LocalS3Server], version: str
) -> None:
    def post(key: str, expires: int = 300, **credentials: str) -> urllib.request.Request:
        fields = client(lake, version, **credentials).generate_presigned_post(
            "bucket", key, ExpiresIn=expires
        )
        assert ("x-amz-signature" if version == "s3v4" else "signature") in fields["fields"]
        return form_post(fields, b"posted " + key.encode())

    assert fetch(post("good"))[0] == 204
    assert lake.client().get_object(Bucket="bucket", Key="good")["Body"].read() == b"posted good"
    for request, expected in (
        (post("swapped", aws_secret_access_key=servers["s3"].secret_key), "SignatureDoesNotMatch"),
        (post("unknown", aws_access_key_id="AKUNKNOWN0000000"), "InvalidAccessKeyId"),
        (post("expired", expires=-1), "AccessDenied"),
    ):
        status, body = fetch(request)
        assert (status, code_of(body)) == (403, expected)
    listed = lake.client().list_objects_v2(Bucket="bucket")["Contents"]
    assert sorted(o["Key"] for o in listed) == ["good", "k"]


def test_an_unsigned_request_is_refused(lake: LocalS3Server) -> None:
    for request in (
        f"{lake.endpoint_url}/",
        f"{lake.endpoint_url}/bucket",
        urllib.request.Request(f"{lake.endpoint_url}/bucket/new", data=b"anonymous", method="PUT"),
    ):
        status, body = fetch(request)
        assert (status, code_of(body)) == (403, "AccessDenied")
    assert fetch(f"{lake.endpoint_url}/bucket/k")[0] == 403  # moto's own refusal of a private object
    assert [o["Key"] for o in lake.client().list_objects_v2(Bucket="bucket")["Contents"]] == ["k"]


# -- the server process -------------------------------------------------------------------


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_the_secret_is_not_on_the_command_line(servers: dict[str, LocalS3Server]) -> None:
    for server in servers.values():
        assert server._process is not None
        command_line = Path(f"/proc/{server._process.pid}/cmdline").read_bytes()
        assert b"botwo._moto_server" in command_line
        assert server.secret_key.encode() not in command_line


def test_a_server_given_its_credentials_checks_them() -> None:
    with LocalS3Server("given", access_key="AKGIVEN000000001", secret_key="given/secret+value") as server:
        assert server.client().list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200
        wrong = server.client(aws_secret_access_key="given/secret+valuE")
        assert error(lambda: wrong.list_buckets()) == ("SignatureDoesNotMatch", 403)


# -- reading signatures (no server) ---------------------------------------------------------


def test_a_sigv4_header_is_left_to_moto_and_the_other_forms_are_read() -> None:
    host = {"Host": "127.0.0.1:1"}
    v4 = {**host, "Authorization": "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/s3/aws4_request, ..."}
    assert read_signature("GET", "/b/k", v4) is None
    v2 = read_signature("GET", "/b/k", {**host, "authorization": "AWS AKV2:c2lnbmF0dXJl"})
    assert isinstance(v2, Signed) and (v2.form, v2.access_key, v2.signature) == (
        "header-v2",
        "AKV2",
        "c2lnbmF0dXJl",
    )
    query = read_signature(
        "GET",
        "/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKQ%2F20260101%2Feu-west-1%2Fs3%2Faws4_request"
        "&X-Amz-Date=20260101T000000Z&X-Amz-Expires=60&X-Amz-SignedHeaders=host&X-Amz-Signature=abc",
        host,
    )
    assert query is not None and (query.form, query.access_key, query.scope) == (
        "query-v4",
        "AKQ",
        ("20260101", "eu-west-1", "s3"),
    )
    assert query.expires is not None and query.expires.isoformat() == "2026-01-01T00:01:00+00:00"
    assert read_signature("GET", "/b/k", host) == Signed("anonymous")
    assert read_signature("POST", "/b", host, {"key": "k"}) == Signed("anonymous")


@pytest.mark.parametrize(
    ("path", "headers", "form"),
    [
        ("/b/k?X-Amz-Signature=abc", {}, None),  # no credential
        ("/b/k?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AK%2Fday", {}, None),
        ("/b/k?AWSAccessKeyId=AK&Signature=s&Expires=soon", {}, None),
        ("/b/k", {"Authorization": "Bearer token"}, None),
        ("/b/k", {"Authorization": "AWS no-colon"}, None),
        ("/b", {}, {"Policy": "not base64!", "AWSAccessKeyId": "AK", "Signature": "s"}),
    ],
)
def test_a_signature_that_cannot_be_read_is_refused(
    path: str, headers: dict[str, str], form: dict[str, str] | None
) -> None:
    with pytest.raises(Unreadable):
        read_signature("POST" if form else "GET", path, headers, form)
