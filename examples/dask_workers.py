"""Dask on worker processes, reading and writing parquet through ``botwo://`` URLs.

A ``LocalCluster`` of two worker *processes* stands in for a real cluster:

1. The configuration is a dict whose secrets are ``${S3_SECRET}``/``${LAKEFS_SECRET}``,
   set in the environment before the workers start (a worker process inherits it; on a
   real cluster set them on the workers as you would ``AWS_*`` variables).
2. ``dd.read_csv("botwo://raw/events/*.csv")`` reads raw events that live in lakeFS
   (bucket ``raw`` is the repository ``events-repo``, branch ``main``).
3. ``to_parquet("botwo://warehouse/daily", partition_on=["region"])`` writes one
   dataset over two stores: ``region=eu`` is kept on lakeFS by a ``prefix`` rule, the
   other regions go to S3. ``dd.read_parquet`` reads it back whole: the listing of
   ``warehouse/daily/`` spans both.
4. The workers never see a secret: the filesystem reaches them as a pickle of its
   configuration, ``${VAR}`` references unexpanded, and each worker resolves them from
   its own environment.

Needs ``pip install "botwo[fsspec]" "dask[dataframe]" distributed``.
Run: ``python examples/dask_workers.py`` (see ``_servers.py`` for the endpoints).
"""

from __future__ import annotations

import io
import logging
import os
import pickle
import warnings
from typing import Any

import dask.dataframe as dd
import fsspec
import pandas as pd
from distributed import Client, LocalCluster, WorkerPlugin
from pandas.errors import Pandas4Warning
from pandas.testing import assert_frame_equal

import botwo

from _servers import ensure_bucket, two_endpoints

MAPPING = [
    {"bucket_name": "raw", "mapped_bucket_name": "events-repo", "client": "lakefs", "key_prefix": "main/"},
    {
        "bucket_name": "warehouse",
        "prefix": "daily/region=eu/",
        "client": "lakefs",
        "mapped_bucket_name": "warehouse-eu",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]

EVENTS = pd.DataFrame(
    {
        "day": ["2024-05-01"] * 4 + ["2024-05-02"] * 4,
        "region": ["eu", "us", "eu", "apac", "us", "eu", "us", "apac"],
        "clicks": [3, 5, 1, 7, 2, 4, 6, 8],
    }
)


def ignore_dask_inplace_deprecations() -> None:
    """dask's parquet engine (``dask/dataframe/io/parquet/arrow.py``) still calls
    ``set_index``/``reset_index`` with ``inplace=True``, which pandas 3.1 deprecates
    (``Pandas4Warning``). Ignore exactly that, from exactly there: with ``python -W error``
    it would otherwise fail every parquet task."""
    warnings.filterwarnings(
        "ignore",
        message="The inplace keyword",
        category=Pandas4Warning,
        module=r"dask\.dataframe\.io\.parquet\.",
    )


class IgnoreDaskInplaceDeprecations(WorkerPlugin):
    """Installs that filter in every worker process, where the parquet tasks run (worker
    processes inherit ``-W error`` from the command line, not this process's filters)."""

    def setup(self, worker: Any) -> None:
        ignore_dask_inplace_deprecations()


def client_table(endpoint: dict[str, Any], secret_variable: str) -> dict[str, Any]:
    """One ``clients`` entry, its secret moved to the environment as ``${secret_variable}``."""
    table = {k: v for k, v in endpoint.items() if v is not None}
    if "aws_secret_access_key" in table:
        os.environ[secret_variable] = table["aws_secret_access_key"]
        table["aws_secret_access_key"] = f"${{{secret_variable}}}"
    return {**table, "config": {"s3": {"addressing_style": "path"}}}


def keys(client: Any, bucket: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return [o["Key"] for page in pages for o in page.get("Contents", ())]


def read_in_worker(fs: Any, path: str) -> tuple[int, bytes]:
    """Runs in a worker process, on a filesystem rebuilt there from its configuration."""
    with fs.open(path, "rb") as f:
        return os.getpid(), f.readline()


def in_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows sorted, the columns of EVENTS, plain types (a partition column reads back as a category)."""
    df = df[list(EVENTS.columns)].sort_values(["day", "region", "clicks"]).reset_index(drop=True)
    return df.astype({"day": str, "region": str, "clicks": "int64"})


def main() -> None:
    with two_endpoints() as (s3_endpoint, lakefs_endpoint):
        config = {
            "clients": {
                "s3": client_table(s3_endpoint, "S3_SECRET"),
                "lakefs": client_table(lakefs_endpoint, "LAKEFS_SECRET"),
            },
            "mapping": MAPPING,
        }
        options = {"config": config}
        s3 = botwo.client("s3", config=config)
        aws, lakefs = s3.backends["s3"], s3.backends["lakefs"]
        for bucket, backend in (("events-repo", lakefs), ("warehouse-eu", lakefs), ("warehouse", aws)):
            ensure_bucket(backend, bucket)
        for day, events in EVENTS.groupby("day"):  # the raw data, already in lakeFS
            lakefs.put_object(
                Bucket="events-repo", Key=f"main/events/{day}.csv", Body=events.to_csv(index=False)
            )

        # The environment now holds the secrets: the worker processes start with it.
        with (
            LocalCluster(
                n_workers=2,
                processes=True,
                threads_per_worker=1,
                dashboard_address=":0",  # a free port: 8787 may be taken
                silence_logs=logging.ERROR,
            ) as cluster,
            Client(cluster) as client,
        ):
            client.register_plugin(IgnoreDaskInplaceDeprecations(), name="ignore-dask-inplace")
            workers = client.run(os.getpid)
            assert len(workers) == 2 and os.getpid() not in workers.values()

            # 2. Read the raw CSVs from lakeFS, one partition per file, on the workers.
            events = dd.read_csv("botwo://raw/events/*.csv", storage_options=options)
            assert events.npartitions == 2
            assert_frame_equal(in_order(events.compute()), in_order(EVENTS))
            print("read botwo://raw/events/*.csv from lakefs: events-repo/main/events/")

            # 3. One parquet dataset over two stores.
            events.to_parquet(
                "botwo://warehouse/daily", partition_on=["region"], write_index=False, storage_options=options
            )
            on_lakefs, on_s3 = keys(lakefs, "warehouse-eu"), keys(aws, "warehouse")
            assert on_lakefs and all(k.startswith("main/daily/region=eu/") for k in on_lakefs)
            assert {k.rsplit("/", 1)[0] for k in on_s3} == {"daily/region=us", "daily/region=apac"}
            eu_rows = pd.concat(
                pd.read_parquet(io.BytesIO(lakefs.get_object(Bucket="warehouse-eu", Key=k)["Body"].read()))
                for k in on_lakefs
            )
            assert sorted(eu_rows["clicks"]) == [1, 3, 4]
            print(f"wrote botwo://warehouse/daily: {len(on_lakefs)} files on lakefs, {len(on_s3)} on s3")

            daily = dd.read_parquet("botwo://warehouse/daily", storage_options=options)
            assert_frame_equal(in_order(daily.compute()), in_order(EVENTS))
            totals = daily.groupby("region", observed=True)["clicks"].sum().compute()
            assert totals.to_dict() == {"apac": 15, "eu": 8, "us": 13}
            print("read back whole, clicks per region:", totals.to_dict())

            # 4. What the workers were sent: the configuration, with no secret in it.
            fs = fsspec.filesystem("botwo", config=config)
            sent = pickle.dumps(fs)
            for secret in (s3_endpoint["aws_secret_access_key"], lakefs_endpoint["aws_secret_access_key"]):
                assert not secret or secret.encode() not in sent
            pid, head = client.submit(read_in_worker, fs, "raw/events/2024-05-01.csv").result()
            assert pid in workers.values() and head == b"day,region,clicks\n"
            print(f"a filesystem pickle of {len(sent)} bytes, no secret in it; worker {pid} used it")


if __name__ == "__main__":
    main()
