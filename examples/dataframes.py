"""pandas over two stores: read from lakeFS, write to S3, through ``botwo://`` URLs.

A notebook's walk-through:

1. The configuration is a dict (the schema of ``botwo.toml``): the bucket
   ``example-old-bucket`` became the lakeFS repository ``example-repo`` (branch
   ``main``), everything else stays on S3. Secrets are ``${VAR}`` references, read from
   the environment.
2. ``pd.read_csv("botwo://example-old-bucket/trips/2024.csv", storage_options=...)``
   reads ``example-repo/main/trips/2024.csv`` from lakeFS; ``to_parquet`` and
   ``to_csv`` on ``botwo://reports/...`` write to S3. fsspec finds the ``botwo``
   protocol by itself: nothing to import, nothing to register.
3. ``storage_options={"client": s3}`` uses a botwo client the notebook already has.
4. ``botwo.filesystem.route_s3_urls(config)`` is the opt-in for code whose paths cannot
   change: its ``s3://`` and ``s3a://`` URLs route through botwo too.

Run: ``python examples/dataframes.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import io
import os
from typing import Any

import pandas as pd
from pandas.testing import assert_frame_equal

import botwo
import botwo.filesystem

from _servers import ensure_bucket, two_endpoints

TRIPS = pd.DataFrame(
    {
        "trip": [1, 2, 3, 4, 5],
        "city": ["Paris", "Lyon", "Paris", "Nice", "Lyon"],
        "km": [12.5, 3.0, 7.5, 40.0, 9.0],
    }
)


def client_table(endpoint: dict[str, Any], secret_variable: str, **config: Any) -> dict[str, Any]:
    """One ``clients`` entry: the endpoint written out, the secret moved to the environment
    and referred to as ``${secret_variable}`` (a key that is None is left to boto3's chain)."""
    table = {k: v for k, v in endpoint.items() if v is not None}
    if "aws_secret_access_key" in table:
        os.environ[secret_variable] = table["aws_secret_access_key"]
        table["aws_secret_access_key"] = f"${{{secret_variable}}}"
    return {**table, "config": {"s3": {"addressing_style": "path"}, **config}}


def make_config(s3: dict[str, Any], lakefs: dict[str, Any]) -> dict[str, Any]:
    return {
        "clients": {
            "s3": client_table(s3, "S3_SECRET"),
            "lakefs": client_table(lakefs, "LAKEFS_SECRET", request_checksum_calculation="when_required"),
        },
        "mapping": [
            {
                "bucket_name": "example-old-bucket",
                "mapped_bucket_name": "example-repo",
                "client": "lakefs",
                "key_prefix": "main/",
            },
            {"bucket_name": "*", "client": "s3"},
        ],
    }


def main() -> None:
    with two_endpoints() as (s3_endpoint, lakefs_endpoint):
        config = make_config(s3_endpoint, lakefs_endpoint)
        options = {"config": config}

        # The backends, for setting the scene and for checking where the bytes went.
        s3 = botwo.client("s3", config=config)
        aws, lakefs = s3.backends["s3"], s3.backends["lakefs"]
        ensure_bucket(lakefs, "example-repo")
        ensure_bucket(aws, "reports")
        lakefs.put_object(Bucket="example-repo", Key="main/trips/2024.csv", Body=TRIPS.to_csv(index=False))

        # 1. Read from lakeFS, in the caller's names.
        trips = pd.read_csv("botwo://example-old-bucket/trips/2024.csv", storage_options=options)
        assert_frame_equal(trips, TRIPS)
        print("read botwo://example-old-bucket/trips/2024.csv from lakefs: example-repo/main/trips/2024.csv")

        # 2. Write to S3: parquet and CSV.
        by_city = trips.groupby("city", as_index=False)["km"].sum()
        by_city.to_parquet("botwo://reports/trips/by_city.parquet", storage_options=options)
        by_city.to_csv("botwo://reports/trips/by_city.csv", index=False, storage_options=options)
        on_s3 = aws.list_objects_v2(Bucket="reports", Prefix="trips/")
        assert [o["Key"] for o in on_s3["Contents"]] == ["trips/by_city.csv", "trips/by_city.parquet"]
        stored = aws.get_object(Bucket="reports", Key="trips/by_city.parquet")["Body"].read()
        assert_frame_equal(pd.read_parquet(io.BytesIO(stored)), by_city)
        assert lakefs.list_objects_v2(Bucket="example-repo")["KeyCount"] == 1  # nothing written there
        back = pd.read_parquet("botwo://reports/trips/by_city.parquet", storage_options=options)
        assert_frame_equal(back, by_city)
        assert back.set_index("city")["km"].to_dict() == {"Lyon": 12.0, "Nice": 40.0, "Paris": 20.0}
        print("wrote botwo://reports/trips/by_city.{parquet,csv} to s3: reports/trips/")

        # 3. A botwo client the notebook already has.
        again = pd.read_csv("botwo://reports/trips/by_city.csv", storage_options={"client": s3})
        assert_frame_equal(again, by_city)

        # 4. The opt-in: code written for s3:// URLs, unchanged, routes through botwo.
        botwo.filesystem.route_s3_urls(config)
        unchanged = pd.read_csv("s3://example-old-bucket/trips/2024.csv")  # from lakeFS
        assert_frame_equal(unchanged, TRIPS)
        unchanged[unchanged["km"] > 10].to_json("s3a://reports/trips/long.json", orient="records")
        long_trips = aws.get_object(Bucket="reports", Key="trips/long.json")["Body"].read()
        assert pd.read_json(io.BytesIO(long_trips))["trip"].tolist() == [1, 4]
        print("after route_s3_urls: s3://example-old-bucket/... read from lakefs, s3a://reports/... on s3")


if __name__ == "__main__":
    main()
