"""HTTP that connects only to vetted addresses: the webhook deliveries' client.

A check of a URL's host before the request is not enough: a name can resolve to a public
address when checked and to 127.0.0.1 a moment later (DNS rebinding), and a redirect can
lead anywhere. So the check sits where the connection is made, as Sentry's and Synapse's
outgoing clients do it: `VettedNetwork`, the network backend of the client's connection
pool, resolves the host itself, checks every address it resolves to against the
`Destinations` rule, and connects to a checked address — the socket never meets an
address that was not checked. The request keeps its host name: the `Host` header, TLS's
server name and certificate check are the name's, and the pool keys its connections by
the name. Redirects are not followed, and no proxy is taken from the environment.
"""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from ipaddress import ip_address

import httpcore
import httpx

from jobmanager.domain.destinations import Destinations, IPAddress

# Looks a host name up: its addresses (the system's resolver by default; tests give a stub).
Resolver = Callable[[str, int], list[IPAddress]]


def system_resolver(host: str, port: int) -> list[IPAddress]:
    """The addresses `getaddrinfo` gives for `host` (TCP), as the socket would use them."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:  # socket.gaierror: no such name, no answer
        raise httpcore.ConnectError(f"{host} could not be resolved: {error}") from error
    return [ip_address(str(sockaddr[0]).split("%")[0]) for *_, sockaddr in found]


class VettedNetwork(httpcore.NetworkBackend):
    """Connects to a host only through addresses the rule permits (see the module)."""

    def __init__(self, rule: Destinations, resolve: Resolver = system_resolver) -> None:
        self.rule = rule
        self.resolve = resolve
        self._sockets = httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        addresses = self.resolve(host, port)
        refusal = self.rule.refusal_of_resolved(host, addresses)
        if refusal is not None:
            raise httpcore.ConnectError(refusal)
        if not addresses:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        failure: Exception | None = None
        for address in addresses:  # the first that answers, as socket.create_connection
            try:
                return self._sockets.connect_tcp(
                    str(address), port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failure = error
        assert failure is not None
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise httpcore.ConnectError("deliveries go over TCP only")

    def sleep(self, seconds: float) -> None:
        self._sockets.sleep(seconds)


class VettedTransport(httpx.HTTPTransport):
    """httpx's transport, its connection pool connecting through a `VettedNetwork`.

    httpx builds its pool without a way to name the network backend (encode/httpx#3749
    proposes one), so this transport builds the same pool with it, and keeps httpx's
    mapping of the pool's errors to its own.
    """

    def __init__(
        self, rule: Destinations, resolve: Resolver = system_resolver, keepalive: int = 8
    ) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_keepalive_connections=keepalive,
            network_backend=VettedNetwork(rule, resolve),
        )


def vetted_client(
    rule: Destinations, timeout: float, resolve: Resolver = system_resolver
) -> httpx.Client:
    """A client for untrusted URLs: vetted connections, no redirects, no proxies."""
    return httpx.Client(
        transport=VettedTransport(rule, resolve),
        timeout=timeout,
        follow_redirects=False,
        trust_env=False,
    )
