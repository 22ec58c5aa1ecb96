"""Paginators over a renamed bucket: ``logs`` is the lakeFS repository ``logs-repo``,
branch ``main``.

boto3's paginators work unchanged. Every page comes back in the caller's names (bucket
``logs``, keys without ``main/``), and the continuation tokens botwo hands out are its
own opaque tokens, bound to the listing that issued them: a paginator can resume from
one (``StartingToken``), and a forged or foreign token raises ``botwo.TokenError``
instead of being sent on.

Run: ``python examples/paginate.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {"bucket_name": "logs", "mapped_bucket_name": "logs-repo", "client": "lakefs", "key_prefix": "main/"},
    {"bucket_name": "*", "client": "s3"},
]
KEYS = [f"app/2024-06-{day:02d}/events.jsonl" for day in range(1, 26)]


def corrupt(token: str) -> str:
    """The token with one character changed."""
    middle = len(token) // 2
    return token[:middle] + ("A" if token[middle] != "A" else "B") + token[middle + 1 :]


def main() -> None:
    with two_backends() as (aws, lakefs):
        ensure_bucket(lakefs, "logs-repo")
        s3 = botwo.client({"s3": aws, "lakefs": lakefs}, MAPPING)
        for key in KEYS:
            s3.put_object(Bucket="logs", Key=key, Body=b"{}\n")

        paginator = s3.get_paginator("list_objects_v2")
        pages = list(paginator.paginate(Bucket="logs", Prefix="app/", PaginationConfig={"PageSize": 10}))
        assert [len(page["Contents"]) for page in pages] == [10, 10, 5]
        assert all(page["Name"] == "logs" for page in pages)
        assert [o["Key"] for page in pages for o in page["Contents"]] == KEYS
        token = pages[0]["NextContinuationToken"]
        print(f"{len(pages)} pages, first token {token[:24]}...")

        # JMESPath search and CommonPrefixes, in caller names.
        by_day = paginator.paginate(Bucket="logs", Prefix="app/", Delimiter="/")
        days = list(by_day.search("CommonPrefixes[].Prefix"))
        assert days == [key.rsplit("/", 1)[0] + "/" for key in KEYS]

        # Stop after 12 items and resume later from the paginator's NextToken.
        config = {"MaxItems": 12, "PageSize": 5}
        head = paginator.paginate(Bucket="logs", Prefix="app/", PaginationConfig=config).build_full_result()
        rest = paginator.paginate(
            Bucket="logs", Prefix="app/", PaginationConfig={"StartingToken": head["NextToken"], "PageSize": 5}
        ).build_full_result()
        assert [o["Key"] for o in head["Contents"] + rest["Contents"]] == KEYS

        # The other listings paginate the same way.
        versions = s3.get_paginator("list_object_versions").paginate(Bucket="logs", Prefix="app/2024-06-0")
        assert [v["Key"] for v in versions.search("Versions[]")] == KEYS[:9]

        # A token is only good for the listing that issued it.
        try:
            s3.list_objects_v2(Bucket="logs", Prefix="other/", ContinuationToken=token)
        except botwo.TokenError as err:
            print("TokenError:", err)
        else:
            raise AssertionError("a token from another listing must be refused")
        try:
            s3.list_objects_v2(Bucket="logs", Prefix="app/", ContinuationToken=corrupt(token))
        except botwo.TokenError as err:
            print("TokenError:", err)
        else:
            raise AssertionError("a corrupted token must be refused")

        # On the backend, the same objects under the branch prefix.
        direct = lakefs.get_paginator("list_objects_v2").paginate(Bucket="logs-repo", Prefix="main/app/")
        assert [o["Key"] for o in direct.search("Contents[]")] == ["main/" + key for key in KEYS]


if __name__ == "__main__":
    main()
