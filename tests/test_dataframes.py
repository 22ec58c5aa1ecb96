"""pandas, pyarrow and Dask over ``botwo://`` URLs, against real local S3 servers.

Every test uses one configuration dict, as a notebook would write it: the endpoints of
the ``s3`` and ``lake`` fixture servers, secrets as ``${S3_SECRET}``/``${LAKE_SECRET}``
references set in the environment, and this mapping (caller's names -> backend's):

=====================================  ==========================================
``raw/<key>``                          lake: ``raw-repo/main/<key>``
``curated/sales/region=eu/<rest>``     lake: ``curated-eu/main/<rest>`` (stripped)
``<bucket>/<key>`` (the rest)          s3: ``<bucket>/<key>``
=====================================  ==========================================

Each test checks what the dataframe library got back *and*, on the backends' own boto3
clients, where the bytes really are. The Dask tests run on a cluster of worker
processes: the filesystem crosses to them as a pickle of its configuration (no secret
in it) and each worker resolves the ``${VAR}`` references from its own environment.
"""

from __future__ import annotations

import gzip
import io
import json
import logging
import os
import pickle
from collections.abc import Iterator
from typing import Any

import dask.dataframe as dd
import fsspec
import pandas as pd
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest
from dask.utils import key_split
from distributed import Client, LocalCluster, get_task_stream
from fsspec.registry import _registry as fsspec_registry
from pandas.testing import assert_frame_equal
from pyarrow.fs import FSSpecHandler, PyFileSystem

import botwo
import botwo.filesystem
from botwo.filesystem import BotwoFileSystem, BotwoS3FileSystem
from botwo.testing import LocalS3Server

SECRETS = {"S3_SECRET": "s3", "LAKE_SECRET": "lake"}  # variable -> the server whose secret it holds

MAPPING: list[dict[str, Any]] = [
    {"bucket_name": "raw", "mapped_bucket_name": "raw-repo", "client": "lake", "key_prefix": "main/"},
    {
        "bucket_name": "curated",
        "prefix": "sales/region=eu/",
        "strip_prefix": True,
        "client": "lake",
        "mapped_bucket_name": "curated-eu",
        "key_prefix": "main/",
    },
    {"bucket_name": "*", "client": "s3"},
]

#: The buckets the rules send calls to, per backend.
TARGET_BUCKETS = {"lake": ("raw-repo", "curated-eu"), "s3": ("curated", "scratch")}

SALES = pd.DataFrame(
    {
        "order": [1, 2, 3, 4, 5, 6],
        "region": ["eu", "us", "eu", "apac", "us", "eu"],
        "amount": [10.5, 20.0, 7.25, 3.0, 99.9, 0.5],
        "item": ["tea", "café", "jam", "rice", "tea, green", 'say "hi"'],
    }
)


def make_config(servers: dict[str, LocalS3Server]) -> dict[str, Any]:
    """The configuration dict: endpoints written out, secrets as ``${VAR}`` references."""
    clients = {
        name: servers[name].client_config(aws_secret_access_key=f"${{{variable}}}")
        for variable, name in SECRETS.items()
    }
    return {"clients": clients, "mapping": MAPPING}


def secret_environment(servers: dict[str, LocalS3Server]) -> dict[str, str]:
    return {variable: servers[name].secret_key for variable, name in SECRETS.items()}


def keys(client: Any, bucket: str, prefix: str = "") -> list[str]:
    """Every key of a backend bucket under ``prefix``, in the backend's own names."""
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [o["Key"] for page in pages for o in page.get("Contents", ())]


def body(client: Any, bucket: str, key: str) -> bytes:
    data: bytes = client.get_object(Bucket=bucket, Key=key)["Body"].read()
    return data


def parquet_bytes(df: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    df.to_parquet(out, engine="pyarrow", index=False)
    return out.getvalue()


def by_order(df: pd.DataFrame) -> pd.DataFrame:
    """Rows in ``order``, the columns of :data:`SALES`, a hive partition column as strings."""
    df = df[list(SALES.columns)].sort_values("order").reset_index(drop=True)
    return df.astype({"region": str, "item": str})


@pytest.fixture
def config(servers: dict[str, LocalS3Server], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    for variable, value in secret_environment(servers).items():
        monkeypatch.setenv(variable, value)
    return make_config(servers)


@pytest.fixture
def stores(backends: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Fresh servers with the target buckets; a plain boto3 client per backend."""
    for name, buckets in TARGET_BUCKETS.items():
        for bucket in buckets:
            backends[name].create_bucket(Bucket=bucket)
    return backends


@pytest.fixture
def options(config: dict[str, Any]) -> dict[str, Any]:
    return {"config": config}


# -- pandas ---------------------------------------------------------------------------------


def test_csv_read_from_lake_written_to_s3(stores: dict[str, Any], options: dict[str, Any]) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    csv = SALES.to_csv(index=False).encode()
    lake.put_object(Bucket="raw-repo", Key="main/in/sales.csv", Body=csv)

    df = pd.read_csv("botwo://raw/in/sales.csv", storage_options=options)
    assert_frame_equal(df, SALES)

    df["amount"] *= 2
    df.to_csv("botwo://curated/out/sales.csv", index=False, storage_options=options)
    assert body(s3, "curated", "out/sales.csv") == df.to_csv(index=False).encode()
    assert keys(lake, "curated-eu") == [] and keys(lake, "raw-repo") == ["main/in/sales.csv"]
    assert_frame_equal(pd.read_csv("botwo://curated/out/sales.csv", storage_options=options), df)


def test_parquet_read_from_lake_written_to_s3(stores: dict[str, Any], options: dict[str, Any]) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    SALES.to_parquet("botwo://curated/sales/region=eu/q1.parquet", engine="pyarrow", storage_options=options)
    # The split rule: region=eu/ is stripped and the rest lands under lakeFS's branch.
    assert keys(lake, "curated-eu") == ["main/q1.parquet"]
    assert keys(s3, "curated") == []
    assert_frame_equal(pd.read_parquet(io.BytesIO(body(lake, "curated-eu", "main/q1.parquet"))), SALES)

    df = pd.read_parquet(
        "botwo://curated/sales/region=eu/q1.parquet", engine="pyarrow", storage_options=options
    )
    assert_frame_equal(df, SALES)
    df.to_parquet("botwo://scratch/copy/q1.parquet", engine="pyarrow", storage_options=options)
    assert keys(s3, "scratch") == ["copy/q1.parquet"]
    assert_frame_equal(pd.read_parquet(io.BytesIO(body(s3, "scratch", "copy/q1.parquet"))), SALES)
    assert_frame_equal(pd.read_parquet("botwo://scratch/copy/q1.parquet", storage_options=options), SALES)


def test_json_gzip_read_from_s3_written_to_lake(stores: dict[str, Any], options: dict[str, Any]) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    SALES.to_json("botwo://curated/sales.jsonl.gz", orient="records", lines=True, storage_options=options)
    # fsspec compressed it (inferred from the name) before the bytes left for the backend.
    stored = gzip.decompress(body(s3, "curated", "sales.jsonl.gz")).decode()
    assert [json.loads(line) for line in stored.splitlines()] == SALES.to_dict("records")

    df = pd.read_json("botwo://curated/sales.jsonl.gz", orient="records", lines=True, storage_options=options)
    assert_frame_equal(df, SALES)
    df.to_json("botwo://raw/sales.json", orient="split", index=False, storage_options=options)
    assert json.loads(body(lake, "raw-repo", "main/sales.json"))["data"][0] == [1, "eu", 10.5, "tea"]
    back = pd.read_json("botwo://raw/sales.json", orient="split", storage_options=options)
    assert_frame_equal(back, SALES)


def test_storage_option_client(stores: dict[str, Any], config: dict[str, Any]) -> None:
    """``storage_options={"client": ...}``: a botwo client, from configuration or from boto3 clients."""
    lake, s3 = stores["lake"], stores["s3"]
    from_config = botwo.client("s3", config=config)
    SALES.to_csv("botwo://raw/a.csv", index=False, storage_options={"client": from_config})
    assert body(lake, "raw-repo", "main/a.csv") == SALES.to_csv(index=False).encode()
    assert_frame_equal(pd.read_csv("botwo://raw/a.csv", storage_options={"client": from_config}), SALES)

    # Built from boto3 client objects: fine in one process (it cannot be pickled).
    from_objects = botwo.client({"s3": s3, "lake": lake}, MAPPING)
    df = pd.read_csv("botwo://raw/a.csv", storage_options={"client": from_objects})
    df.to_parquet("botwo://curated/b.parquet", storage_options={"client": from_objects})
    assert keys(s3, "curated") == ["b.parquet"]
    assert_frame_equal(
        pd.read_parquet("botwo://curated/b.parquet", storage_options={"client": from_objects}), SALES
    )
    assert_frame_equal(
        pd.read_parquet("botwo://curated/b.parquet", storage_options={"client": from_config}), SALES
    )


def test_partitioned_parquet_split_over_two_backends(stores: dict[str, Any], options: dict[str, Any]) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    SALES.to_parquet("botwo://curated/sales", partition_cols=["region"], storage_options=options)

    # region=eu is on lakeFS (prefix stripped), the other partitions on S3.
    eu = keys(lake, "curated-eu")
    assert len(eu) == 1 and eu[0].startswith("main/") and eu[0].endswith(".parquet")
    on_s3 = keys(s3, "curated")
    assert sorted({k.rsplit("/", 1)[0] for k in on_s3}) == ["sales/region=apac", "sales/region=us"]
    eu_rows = pd.read_parquet(io.BytesIO(body(lake, "curated-eu", eu[0])))
    assert eu_rows["order"].tolist() == [1, 3, 6]

    whole = pd.read_parquet("botwo://curated/sales", storage_options=options)
    assert_frame_equal(by_order(whole), SALES)
    only_eu = pd.read_parquet(
        "botwo://curated/sales", filters=[("region", "=", "eu")], storage_options=options
    )
    assert_frame_equal(by_order(only_eu), by_order(SALES[SALES["region"] == "eu"]))


def test_large_csv_is_a_multipart_upload(stores: dict[str, Any], options: dict[str, Any]) -> None:
    """More than a block (5 MiB): written as a multipart upload, parts routed to lakeFS."""
    lake = stores["lake"]
    big = pd.DataFrame({"n": range(400_000), "text": ["some padding text"] * 400_000})
    big.to_csv("botwo://curated/sales/region=eu/big.csv", index=False, storage_options=options)
    head = lake.head_object(Bucket="curated-eu", Key="main/big.csv")
    assert head["ContentLength"] == len(big.to_csv(index=False).encode()) > 5 * 2**20
    assert head["ETag"].strip('"').endswith("-2")  # two parts
    assert lake.list_multipart_uploads(Bucket="curated-eu").get("Uploads", []) == []
    back = pd.read_csv("botwo://curated/sales/region=eu/big.csv", storage_options=options)
    assert_frame_equal(back, big)


def test_missing_object_is_file_not_found(stores: dict[str, Any], options: dict[str, Any]) -> None:
    with pytest.raises(FileNotFoundError, match=r"raw/nothing\.csv"):
        pd.read_csv("botwo://raw/nothing.csv", storage_options=options)
    with pytest.raises(FileNotFoundError):
        pd.read_parquet("botwo://curated/nothing/", storage_options=options)


def test_configuration_from_botwo_config_file(
    stores: dict[str, Any], config: dict[str, Any], tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No storage options at all: the filesystem reads the file ``$BOTWO_CONFIG`` names."""
    path = tmp_path / "botwo.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    monkeypatch.setenv("BOTWO_CONFIG", str(path))
    SALES.to_csv("botwo://raw/env.csv", index=False)
    assert body(stores["lake"], "raw-repo", "main/env.csv") == SALES.to_csv(index=False).encode()
    assert_frame_equal(pd.read_csv("botwo://raw/env.csv"), SALES)


# -- pyarrow --------------------------------------------------------------------------------


def put_sales_partitions(stores: dict[str, Any]) -> None:
    """The hive dataset ``curated/sales/region=*/part-0.parquet``, written on the backends."""
    for region, group in SALES.groupby("region"):
        data = parquet_bytes(group.drop(columns="region"))
        if region == "eu":
            stores["lake"].put_object(Bucket="curated-eu", Key="main/part-0.parquet", Body=data)
        else:
            stores["s3"].put_object(Bucket="curated", Key=f"sales/region={region}/part-0.parquet", Body=data)


def test_pyarrow_dataset_over_both_backends(stores: dict[str, Any], config: dict[str, Any]) -> None:
    put_sales_partitions(stores)
    fs = fsspec.filesystem("botwo", config=config)
    assert isinstance(fs, BotwoFileSystem)
    expected = sorted(f"curated/sales/region={r}/part-0.parquet" for r in ("apac", "eu", "us"))

    # pyarrow wraps an fsspec filesystem itself, or takes it already wrapped.
    for filesystem in (fs, PyFileSystem(FSSpecHandler(fs))):
        dataset = ds.dataset("curated/sales", filesystem=filesystem, format="parquet", partitioning="hive")
        assert sorted(dataset.files) == expected
        assert_frame_equal(by_order(dataset.to_table().to_pandas()), SALES)
        eu = dataset.to_table(filter=ds.field("region") == "eu").to_pandas()
        assert eu["order"].tolist() == [1, 3, 6]


def test_pyarrow_parquet_read_and_write(stores: dict[str, Any], config: dict[str, Any]) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    fs = fsspec.filesystem("botwo", config=config)
    lake.put_object(Bucket="raw-repo", Key="main/t.parquet", Body=parquet_bytes(SALES))

    table = pq.read_table("raw/t.parquet", filesystem=fs)
    assert table.num_rows == 6 and table.column("order").to_pylist() == [1, 2, 3, 4, 5, 6]
    assert pq.read_table("botwo://raw/t.parquet", filesystem=fs).equals(table)
    assert pq.read_table("raw/t.parquet", filesystem=fs, columns=["amount"]).num_columns == 1

    pq.write_table(table, "scratch/t.parquet", filesystem=fs)
    assert pq.read_table(pa.BufferReader(body(s3, "scratch", "t.parquet"))).equals(table)
    assert pq.ParquetFile("scratch/t.parquet", filesystem=fs).metadata.num_rows == 6


# -- Dask, with worker processes -------------------------------------------------------------


@pytest.fixture(scope="module")
def dask_client(servers: dict[str, LocalS3Server]) -> Iterator[Client]:
    """Two worker processes, started with the secrets in their environment."""
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in secret_environment(servers).items():
            patch.setenv(variable, value)
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
            yield client


def test_dask_parquet_split_over_two_backends(
    stores: dict[str, Any], options: dict[str, Any], dask_client: Client
) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    ddf = dd.from_pandas(SALES, npartitions=3)
    with get_task_stream(dask_client) as stream:
        ddf.to_parquet(
            "botwo://curated/sales", partition_on=["region"], write_index=False, storage_options=options
        )
    # The task stream records only what the worker processes ran: each of the three
    # partitions was written there, through the unpickled filesystem, not in this process.
    written = sorted(task["key"][1] for task in stream.data if key_split(task["key"]) == "toparquetdata")
    assert written == [0, 1, 2], [task["key"] for task in stream.data]

    eu = keys(lake, "curated-eu")
    assert eu and all(k.startswith("main/") and k.endswith(".parquet") for k in eu)
    assert sorted({k.rsplit("/", 1)[0] for k in keys(s3, "curated")}) == [
        "sales/region=apac",
        "sales/region=us",
    ]

    back = dd.read_parquet("botwo://curated/sales", storage_options=options)
    assert_frame_equal(by_order(back.compute()), SALES)
    only_us = dd.read_parquet(
        "botwo://curated/sales", filters=[("region", "==", "us")], storage_options=options
    )
    assert sorted(only_us["order"].compute().tolist()) == [2, 5]


def test_dask_csv_read_from_lake_written_to_s3(
    stores: dict[str, Any], options: dict[str, Any], dask_client: Client
) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    for i, part in enumerate((SALES[:2], SALES[2:4], SALES[4:])):
        lake.put_object(
            Bucket="raw-repo", Key=f"main/csv/part-{i}.csv", Body=part.to_csv(index=False).encode()
        )

    ddf = dd.read_csv("botwo://raw/csv/part-*.csv", storage_options=options)
    assert ddf.npartitions == 3
    assert_frame_equal(by_order(ddf.compute()), SALES)

    ddf.to_parquet("botwo://scratch/sales", write_index=False, storage_options=options)
    written = keys(s3, "scratch", "sales/")
    assert len(written) == 3 and all(k.endswith(".parquet") for k in written)
    on_s3 = pd.concat(pd.read_parquet(io.BytesIO(body(s3, "scratch", k))) for k in written)
    assert_frame_equal(by_order(on_s3), SALES)


def test_dask_csv_to_one_file_appends_partitions(
    stores: dict[str, Any], options: dict[str, Any], dask_client: Client
) -> None:
    # single_file=True writes the first partition, then opens the object in "ab" mode for
    # each next one: botwo rewrites the object with its bytes first.
    ddf = dd.from_pandas(SALES, npartitions=3)
    ddf.to_csv("botwo://raw/all-sales.csv", single_file=True, index=False, storage_options=options)
    on_lake = body(stores["lake"], "raw-repo", "main/all-sales.csv")
    assert_frame_equal(pd.read_csv(io.BytesIO(on_lake)), SALES)
    assert stores["lake"].list_multipart_uploads(Bucket="raw-repo").get("Uploads") is None


def read_in_worker(fs: BotwoFileSystem, path: str) -> tuple[int, bytes]:
    return os.getpid(), fs.cat_file(path)


def test_filesystem_reaches_workers_as_configuration(
    stores: dict[str, Any], config: dict[str, Any], dask_client: Client
) -> None:
    """Pickled, the filesystem is its configuration: no secret travels; each worker
    resolves ``${LAKE_SECRET}`` from its own environment."""
    stores["lake"].put_object(Bucket="raw-repo", Key="main/hello.txt", Body=b"hello from lakeFS")
    fs = fsspec.filesystem("botwo", config=config)
    data = pickle.dumps(fs)
    for variable in SECRETS:
        assert os.environ[variable].encode() not in data
    assert b"${LAKE_SECRET}" in data

    pid, read = dask_client.submit(read_in_worker, fs, "raw/hello.txt", pure=False).result()
    assert read == b"hello from lakeFS"
    assert pid != os.getpid() and pid in dask_client.run(os.getpid).values()


def test_unpickled_filesystem_is_the_cached_instance(config: dict[str, Any]) -> None:
    """Dask unpickles the filesystem while tokenizing a graph and for every task: each
    unpickle must find the cached instance, not build new boto3 clients."""
    fs = fsspec.filesystem("botwo", config=config)
    assert fs.client is not None  # built: it must still travel as the configuration
    assert pickle.loads(pickle.dumps(fs)) is fs


# -- route_s3_urls: unchanged s3:// URLs -----------------------------------------------------


@pytest.fixture
def routed_s3(config: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """``route_s3_urls(config)`` for one test; fsspec's registry restored afterwards."""
    saved = {protocol: fsspec_registry.get(protocol) for protocol in ("s3", "s3a")}
    botwo.filesystem.route_s3_urls(config)
    try:
        yield config
    finally:
        for protocol, cls in saved.items():
            if cls is None:
                fsspec_registry.pop(protocol, None)
            else:
                fsspec_registry[protocol] = cls
        BotwoS3FileSystem.default_settings = None
        BotwoS3FileSystem.clear_instance_cache()


def test_route_s3_urls(stores: dict[str, Any], routed_s3: dict[str, Any]) -> None:
    lake, s3 = stores["lake"], stores["s3"]
    assert fsspec.get_filesystem_class("s3") is BotwoS3FileSystem
    lake.put_object(Bucket="raw-repo", Key="main/x.csv", Body=SALES.to_csv(index=False).encode())

    # Code written for s3fs, unchanged: no storage options, s3:// and s3a:// URLs.
    df = pd.read_csv("s3://raw/x.csv")
    assert_frame_equal(df, SALES)
    assert_frame_equal(pd.read_csv("s3a://raw/x.csv"), SALES)
    df.to_csv("s3://curated/y.csv", index=False)
    assert body(s3, "curated", "y.csv") == SALES.to_csv(index=False).encode()
    df.to_json("s3a://scratch/y.json", orient="records")
    assert json.loads(body(s3, "scratch", "y.json")) == SALES.to_dict("records")

    # s3fs's own options name another store's credentials: refused, not ignored.
    with pytest.raises(botwo.ConfigError, match="anon"):
        pd.read_csv("s3://raw/x.csv", storage_options={"anon": True})


def test_route_s3_urls_on_dask_workers(
    stores: dict[str, Any], routed_s3: dict[str, Any], dask_client: Client
) -> None:
    """The workers never called ``route_s3_urls``: the filesystem arrives pickled with
    its configuration."""
    lake, s3 = stores["lake"], stores["s3"]
    lake.put_object(Bucket="raw-repo", Key="main/x.csv", Body=SALES.to_csv(index=False).encode())
    ddf = dd.read_csv("s3://raw/x.csv")
    assert_frame_equal(by_order(ddf.compute()), SALES)
    ddf.to_parquet("s3://curated/dask", write_index=False)
    assert keys(s3, "curated", "dask/") == ["dask/part.0.parquet"]
    assert_frame_equal(by_order(dd.read_parquet("s3a://curated/dask").compute()), SALES)
