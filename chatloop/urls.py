"""Which URLs the project talks to: TLS everywhere, plain http only where it cannot leak.

`check_url`: https/wss, or plain http/ws to a loopback host (tests, a local MLflow).
`check_service_url`: also plain http to an in-cluster service name (`*.svc`,
`*.svc.cluster.local`) when CHATLOOP_ALLOW_CLUSTER_HTTP=1 says a mesh adds mTLS. TLS checks are
never switched off anywhere. Platform sources and actions use `check_url`; the services the
loop runs itself (feedback, MLflow, the KFP API) use `check_service_url`.
"""
from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from chatloop.errors import ChatloopError

CLUSTER_HTTP_ENV = "CHATLOOP_ALLOW_CLUSTER_HTTP"
CLUSTER_SUFFIXES = (".svc", ".svc.cluster.local")


class InsecureUrl(ChatloopError, ValueError):
    """A URL that would send data (or a token) in the clear outside this machine."""


def is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def check_url(url: str) -> str:
    """`url` if it is TLS (https/wss), or plain http/ws to a loopback host; else InsecureUrl."""
    parts = urlsplit(url)
    if parts.scheme in ("https", "wss"):
        return url
    if parts.scheme in ("http", "ws") and is_loopback(parts.hostname):
        return url
    raise InsecureUrl(f"refusing {url!r}: only https:// or wss:// (plain only to 127.0.0.1)")


def check_service_url(url: str, allow_cluster_http: bool | None = None) -> str:
    """`check_url`, or plain http to an in-cluster service name when allowed (default:
    CHATLOOP_ALLOW_CLUSTER_HTTP=1)."""
    if allow_cluster_http is None:
        allow_cluster_http = os.environ.get(CLUSTER_HTTP_ENV, "").strip() == "1"
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    in_cluster = parts.scheme == "http" and host.endswith(CLUSTER_SUFFIXES) and host.split(".")[0]
    if in_cluster and allow_cluster_http:
        return url
    try:
        return check_url(url)
    except InsecureUrl:
        if in_cluster:
            raise InsecureUrl(f"refusing {url!r}: plain http to an in-cluster service needs "
                              f"{CLUSTER_HTTP_ENV}=1 (only where a mesh adds mTLS); "
                              "else use https") from None
        raise
