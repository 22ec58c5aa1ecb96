"""Presigned URLs through botwo: signed by the backend that serves the object.

``generate_presigned_url`` routes its ``Params`` like the call itself and asks the
routed boto3 client to sign the request, so the URL points at that backend's endpoint
and carries the *target* bucket and key (``example-repo/main/...`` below): whoever
fetches it talks to lakeFS directly, without botwo. The same holds for
``generate_presigned_post``.

Run: ``python examples/presigned.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import urllib.parse
import urllib.request

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {
        "bucket_name": "example-old-bucket",
        "mapped_bucket_name": "example-repo",
        "client": "lakefs",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]


def fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:
        body: bytes = response.read()
        return body


def main() -> None:
    with two_backends() as (aws, lakefs):
        ensure_bucket(aws, "test-bucket")
        ensure_bucket(lakefs, "example-repo")
        s3 = botwo.client({"s3": aws, "lakefs": lakefs}, MAPPING)

        report = b"quarter,total\nq1,42\n"
        s3.put_object(Bucket="example-old-bucket", Key="reports/q1 summary.csv", Body=report)
        s3.put_object(Bucket="test-bucket", Key="reports/q1.csv", Body=b"on s3")

        params = {"Bucket": "example-old-bucket", "Key": "reports/q1 summary.csv"}
        url = s3.generate_presigned_url("get_object", Params=params, ExpiresIn=300)
        print("lakeFS object:", url)
        assert url.startswith(lakefs.meta.endpoint_url)
        assert "example-repo" in url
        assert "main/reports/q1%20summary.csv" in urllib.parse.urlsplit(url).path
        assert fetch(url) == report

        params = {"Bucket": "test-bucket", "Key": "reports/q1.csv"}
        url = s3.generate_presigned_url("get_object", Params=params)
        print("S3 object:   ", url)
        assert url.startswith(aws.meta.endpoint_url)
        assert fetch(url) == b"on s3"

        post = s3.generate_presigned_post("example-old-bucket", "uploads/${filename}", ExpiresIn=300)
        assert post["url"].startswith(lakefs.meta.endpoint_url)
        assert post["fields"]["key"] == "main/uploads/${filename}"
        print("presigned POST:", post["url"], post["fields"]["key"])


if __name__ == "__main__":
    main()
