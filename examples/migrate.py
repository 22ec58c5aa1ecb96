"""Finish a migration: copy what a rule's fallback still holds onto the rule's client.

Bucket ``media`` is moving from an old store to a new one (``_servers.py`` calls the two
servers ``s3`` and ``lakefs``; here they play ``old`` and ``new``). Its rule sends every
call to the new store and reads what the new store lacks from the old one
(``"fallback": ["old"]``), so nothing is missing while objects move. Both stores hold the
bucket as ``media-v2`` with keys under ``main/``: a fallback is asked for the same target
names as the rule's client.

``botwo.migrate(s3, "s3://media/")`` copies, for every route under the URL that has a
fallback, what the fallback holds and the rule's client lacks or holds differently, then
verifies. ``dry_run=True`` is the check to run before and after (``report.ok``: nothing
left, the fallback can go). On the command line: ``botwo migrate s3://media --check``,
``botwo migrate s3://media``, then ``botwo check --migration``.

Run: ``python examples/migrate.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

from typing import Any

import botwo

from _servers import ensure_bucket, two_backends

MAPPING = [
    {
        "bucket_name": "media",
        "client": "new",
        "mapped_bucket_name": "media-v2",
        "key_prefix": "main/",
        "fallback": ["old"],
    },
    {"bucket_name": "*", "client": "old"},
]


def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", [])]


def main() -> None:
    with two_backends() as (old, new):
        for backend in (old, new):
            ensure_bucket(backend, "media-v2")
        for name in ("logo.png", "intro.mp4", "2024/poster.jpg"):
            old.put_object(Bucket="media-v2", Key=f"main/{name}", Body=f"old {name}".encode())
        s3 = botwo.client({"old": old, "new": new}, MAPPING)

        # The application keeps writing while the objects move: to the new store only.
        s3.put_object(Bucket="media", Key="upload.gif", Body=b"written during the migration")
        assert s3.get_object(Bucket="media", Key="logo.png")["Body"].read() == b"old logo.png"

        # 1. The check: three objects are only on the old store.
        before = botwo.migrate(s3, "s3://media/", dry_run=True)
        assert not before.ok and before.left == 3, before
        print(before)

        # 2. The migration: copy, then verify.
        done = botwo.migrate(s3, "s3://media/")
        assert done.ok, done
        (step,) = done.steps
        assert step.copy is not None and step.copy.copied == 3
        print(done)

        # The new store has everything; what only it had (the upload) is kept.
        assert keys(new, "media-v2") == [
            "main/2024/poster.jpg",
            "main/intro.mp4",
            "main/logo.png",
            "main/upload.gif",
        ]

        # 3. The check again: nothing left, so the fallback can be dropped.
        assert botwo.migrate(s3, "s3://media/", dry_run=True).ok
        without = botwo.client({"old": old, "new": new}, [{**MAPPING[0], "fallback": []}, MAPPING[1]])
        poster = without.get_object(Bucket="media", Key="2024/poster.jpg")["Body"].read()
        assert poster == b"old 2024/poster.jpg"
        print("media reads from the new store alone:", keys(without, "media"))


if __name__ == "__main__":
    main()
