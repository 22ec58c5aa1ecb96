"""The ``boto3.resource("s3")`` adapter: boto3's own S3 resource over a routing client.

boto3 builds its resources from data (the ``resources-1`` model) and every resource
action, collection, waiter, lazy ``load()`` and injected transfer method ends in a call
on ``resource.meta.client``: ``getattr(client, operation)(**params)`` for actions,
``client.can_paginate`` / ``client.get_paginator`` for collections, ``client.get_waiter``
for waiters, ``client.upload_file`` & co. for the methods of ``boto3.s3.inject``.
Nothing in that layer needs a ``botocore.client.BaseClient``, so the resource here is
the very class boto3 builds, instantiated on a botwo routing client: every call it makes
is routed, renamed and translated like a call on the client itself.

The classes are built exactly as :meth:`boto3.session.Session.resource` builds them,
by a boto3 ``Session``'s ``resource_factory``, whose event emitter carries boto3's
default handlers: ``creating-resource-class.s3.Bucket`` / ``.Object`` /
``.ObjectSummary`` inject ``upload_file``, ``download_file``, ``copy``,
``upload_fileobj``, ``download_fileobj`` and the ``load`` of ``Bucket`` and
``ObjectSummary``. Only the low-level client differs: boto3 would create one from the
session; the routing client is passed instead.
"""

from __future__ import annotations

import threading
from typing import Any, cast

import boto3.session
import boto3.utils
from botocore.model import ServiceModel
from botocore.waiter import WaiterModel

from ._client import RoutingClient

__all__ = ["service_resource"]

_classes: dict[tuple[str, str], type[Any]] = {}
_classes_lock = threading.Lock()


def _build_class(model: ServiceModel) -> type[Any]:
    """boto3's ``ServiceResource`` subclass for ``model``, as ``Session.resource`` builds it.

    A fresh boto3 ``Session`` is used (never the caller's default session, which is not
    thread-safe to share): its loader finds boto3's ``resources-1`` data and its event
    emitter has boto3's S3 injection handlers registered. The resource model loaded is
    the one of the client's API version, as boto3 pairs them.
    """
    session = boto3.session.Session()
    name, api_version = model.service_name, model.api_version
    # Session.resource loads these through the session's loader, which has boto3's own
    # data directory (where the resource models live) on its search path.
    resource_model = session._loader.load_service_model(name, "resources-1", api_version)
    context = boto3.utils.ServiceContext(
        service_name=name,
        service_model=model,
        resource_json_definitions=resource_model["resources"],
        # The stubs say WaiterModel; boto3 passes this lazy stand-in, which the resource
        # factory only asks for ``get_waiter(name)`` (to document the waiter actions).
        service_waiter_model=cast(
            WaiterModel, boto3.utils.LazyLoadedWaiterModel(session._session, name, api_version)
        ),
    )
    return session.resource_factory.load_from_definition(
        resource_name=name,
        single_resource_json_definition=resource_model["service"],
        service_context=context,
    )


def resource_class(model: ServiceModel) -> type[Any]:
    """The boto3 S3 ``ServiceResource`` class for a service model, built once per API version.

    Building it takes tens of milliseconds (the resource model is parsed and every
    action, collection and waiter is generated), so it is cached like the routing client
    class, by service name and API version. Caching is safe: the class holds the model
    and the factory, never a client (``meta.client`` is set on each instance), and
    boto3 itself creates the sub-resource classes (``Bucket``, ``Object``, ...) anew on
    each call, through the same factory and event emitter, read-only.
    """
    cache_key = (model.service_name, model.api_version)
    with _classes_lock:
        cls = _classes.get(cache_key)
        if cls is None:
            cls = _classes[cache_key] = _build_class(model)
        return cls


def service_resource(client: RoutingClient) -> Any:
    """A boto3 S3 resource (``boto3.resource("s3")``'s class) whose ``meta.client`` is ``client``.

    Every request the resource makes (actions, attribute loads, collections and their
    batch actions, waiters, ``upload_file``/``download_file``/``copy``) is a call on the
    routing client, so it is routed by the rule table and answered in the caller's
    names, as the same call on the client would be.
    """
    if not isinstance(client, RoutingClient):
        raise TypeError(f"service_resource needs a botwo routing client, got {type(client).__name__}")
    return resource_class(client.meta.service_model)(client=client)
