"""botwo: one boto3 S3 client over several S3-compatible services.

From configuration (``$BOTWO_CONFIG``, ``./botwo.toml`` or the user's config directory)::

    import botwo
    s3 = botwo.client("s3")

or from boto3 clients and rules::

    import boto3, botwo
    s3 = botwo.client(
        {"s3": boto3.client("s3"), "lakefs": boto3.client("s3", endpoint_url=...)},
        [
            {"bucket_name": "example-old-bucket", "mapped_bucket_name": "example-repo",
             "client": "lakefs", "key_prefix": "main/"},
            {"bucket_name": "*", "client": "s3"},
        ],
    )
    s3.get_object(Bucket="example-old-bucket", Key="test/object.txt")
"""

from __future__ import annotations

from ._client import RoutingClient
from ._config import ClientSettings, Settings
from ._config import load as load_config
from ._factory import client, resource
from ._migrate import MigrationPass, MigrationReport, MigrationStep, migrate
from ._rules import Rule
from ._sync import SyncRecord
from ._syncer import SyncProgress, SyncReport, sync
from ._table import Route, RouteDecision
from ._values import CopyConfig
from .errors import (
    AddressError,
    BotwoError,
    ConfigError,
    ConfigWarning,
    CrossRouteError,
    ListingOrderError,
    OverlappingTargetsWarning,
    PrefixWithoutSlashWarning,
    ReadOnlyError,
    RoutingError,
    RuleError,
    Served,
    ShadowedRuleWarning,
    SyncError,
    TokenError,
    served,
)

__version__ = "0.1.0"

__all__ = [
    "AddressError",
    "BotwoError",
    "ClientSettings",
    "ConfigError",
    "ConfigWarning",
    "CopyConfig",
    "CrossRouteError",
    "ListingOrderError",
    "MigrationPass",
    "MigrationReport",
    "MigrationStep",
    "OverlappingTargetsWarning",
    "PrefixWithoutSlashWarning",
    "ReadOnlyError",
    "Route",
    "RouteDecision",
    "RoutingClient",
    "RoutingError",
    "Rule",
    "RuleError",
    "Served",
    "Settings",
    "ShadowedRuleWarning",
    "SyncError",
    "SyncProgress",
    "SyncRecord",
    "SyncReport",
    "TokenError",
    "client",
    "load_config",
    "migrate",
    "resource",
    "served",
    "sync",
]
