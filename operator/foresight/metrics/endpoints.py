"""The one place the operator gets a Prometheus client: which endpoints, with which credentials.

Rules (see ``docs/security.md``):

* A URL is a base URL or nothing (:func:`foresight.api.v1alpha1.check_base_url`).
* A scaler may name only the operator's own Prometheus or a URL of the allow-list
  (``Settings.prometheus_allowed_urls``, chart value ``prometheus.allowedURLs``); anything else is
  refused before a single request is made, so a scaler cannot make the operator call arbitrary
  in-cluster addresses.
* Credentials follow the endpoint. The operator's token and CA bundle go only to the origin
  (scheme, host, port) of the operator's own Prometheus. Another URL gets the token of the Secret the
  scaler names in its own namespace, or no token at all.

Clients are cached by everything that makes two of them different: base URL, where the token comes
from, CA bundle and time-out. Tokens are read at query time, so rotation needs no new client.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from foresight.api.v1alpha1 import check_base_url
from foresight.config import Settings
from foresight.metrics.prometheus import MetricSourceError, PrometheusClient, TokenSource

MAX_CACHED_CLIENTS = 256
"""Clients kept open; the least recently used beyond this are closed."""

SecretReader = Callable[[str, str, str], str]
"""``(namespace, name, key) -> value`` of a Secret key, read when a query is made."""


class EndpointNotAllowed(ValueError):
    """The URL is not a base URL, or not one this operator may call; the message says why."""


@dataclass(frozen=True)
class SecretRef:
    """A Secret key in the namespace of the resource that names it."""

    namespace: str
    name: str
    key: str


def origin(url: str) -> tuple[str, str, int]:
    """Scheme, lower-case host and port (the scheme's default when absent).

    >>> origin("HTTP://Prometheus.monitoring.svc/prefix")
    ('http', 'prometheus.monitoring.svc', 80)
    >>> origin("https://prom:9443") == origin("https://PROM:9443/other")
    True
    """
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme.lower(), (parts.hostname or "").lower(), port


def _normalized(url: str) -> str:
    scheme, host, port = origin(url)
    return f"{scheme}://{host}:{port}{urlsplit(url).path.rstrip('/')}"


class PrometheusClients:
    """Builds and caches Prometheus clients for the operator, enforcing the endpoint rules above."""

    def __init__(
        self,
        settings: Settings,
        read_secret: SecretReader,
        *,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._read_secret = read_secret
        self._transport = transport
        self._own = check_base_url(settings.prometheus_url)
        self._listed = [self._own, *(check_base_url(u) for u in settings.prometheus_allowed_urls)]
        self._allowed = {_normalized(u) for u in self._listed}
        self._cache: OrderedDict[tuple[object, ...], PrometheusClient] = OrderedDict()

    def check_allowed(self, url: str | None) -> str:
        """The base URL to query for ``url`` (None: the operator's own); refuses what is not allowed.

        >>> clients = PrometheusClients(Settings(prometheus_url="http://prom:9090",
        ...     prometheus_allowed_urls=["https://thanos.example/"]), read_secret=lambda *a: "t")
        >>> clients.check_allowed(None), clients.check_allowed("https://thanos.example")
        ('http://prom:9090', 'https://thanos.example')
        >>> clients.check_allowed("http://kube-dns.kube-system:53")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        foresight.metrics.endpoints.EndpointNotAllowed: http://kube-dns.kube-system:53 is not an allowed ...
        """
        if url is None:
            return self._own
        try:
            base = check_base_url(url)
        except ValueError as exc:
            raise EndpointNotAllowed(str(exc)) from exc
        if _normalized(base) not in self._allowed:
            raise EndpointNotAllowed(
                f"{base} is not an allowed Prometheus URL "
                f"(allowed: {', '.join(self._listed)}; chart value prometheus.allowedURLs)"
            )
        return base

    def is_own_origin(self, url: str) -> bool:
        """Whether ``url`` is served by the operator's own Prometheus (same scheme, host and port)."""
        return origin(url) == origin(self._own)

    def get(self, url: str | None = None, secret: SecretRef | None = None) -> PrometheusClient:
        """A client for ``url`` (None: the operator's own Prometheus) with the credentials it may have."""
        base = self.check_allowed(url)
        own = self.is_own_origin(base)
        settings = self._settings
        token: TokenSource | None
        if secret is not None:
            token_key: object = secret
            token = self._secret_token(secret)
        elif own:
            token_key, token = "operator", settings.prometheus_bearer_token
        else:
            token_key, token = None, None
        ca_file = str(settings.prometheus_ca_file) if own and settings.prometheus_ca_file else None
        key = (base, token_key, ca_file, settings.prometheus_timeout_seconds)
        client = self._cache.get(key)
        if client is None:
            client = PrometheusClient(
                base,
                token=token,
                ca_file=ca_file,
                timeout_seconds=settings.prometheus_timeout_seconds,
                transport=self._transport,
            )
            self._cache[key] = client
            while len(self._cache) > MAX_CACHED_CLIENTS:
                self._cache.popitem(last=False)[1].close()
        self._cache.move_to_end(key)
        return client

    def _secret_token(self, secret: SecretRef) -> TokenSource:
        def read() -> str | None:
            try:
                return self._read_secret(secret.namespace, secret.name, secret.key) or None
            except Exception as exc:  # NotFound, Forbidden, API down: the condition names the Secret
                raise MetricSourceError(
                    "SecretUnavailable",
                    f"cannot read key {secret.key!r} of Secret {secret.namespace}/{secret.name} "
                    f"({type(exc).__name__}); the operator reads Secrets only in the namespaces of the "
                    "chart value prometheus.secretReaderNamespaces",
                ) from exc

        return read

    def close(self) -> None:
        """Close every cached client."""
        while self._cache:
            self._cache.popitem()[1].close()
