"""Does a provider's traffic stay in the school? Decided from the host, not from a file.

A provider file may say ``"local": true``, but only the address the requests go to can
make that true. The rules (:func:`classify_host`):

* an IP address counts as local when it is loopback, private (10/8, 172.16/12,
  192.168/16, fc00::/7) or link-local; every other address is public;
* ``localhost`` (and ``*.localhost``) is local;
* a LAN name (one label like ``gpu-server``, or ending in ``.local``, ``.lan``,
  ``.internal``, ``.home.arpa``) is local *if it resolves to local addresses only*: the
  provider checks that before its first request (:func:`check_resolves_locally`);
* every other name (``api.openai.com``, ``llm.example.org``) is public, whatever a file
  claims. A lab server with a public DNS name is entered by its LAN address instead.

A file can make a provider stricter (``"local": false`` on a LAN server) but never looser.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Literal
from urllib.parse import urlsplit

from ..content.schema import Provider
from ..settings import Settings

Locality = Literal["local", "lan_name", "public"]

#: Built-in cloud endpoints: id -> (base URL, key variable, token-limit field, seed field).
CLOUD_ENDPOINTS: dict[str, tuple[str, str, str, str]] = {
    "mistral": ("https://api.mistral.ai/v1", "MISTRAL_API_KEY", "max_tokens", "random_seed"),
    "openrouter": ("https://openrouter.ai/api/v1", "OPENROUTER_API_KEY", "max_tokens", "seed"),
    "openai": ("https://api.openai.com/v1", "OPENAI_API_KEY", "max_completion_tokens", "seed"),
}
_LAN_SUFFIXES = (".local", ".lan", ".internal", ".home.arpa")
_OLLAMA_LOCAL_URL = "http://127.0.0.1:11434"


def host_of(url: str) -> str:
    """The host of ``url`` in lower case, without brackets ("" when there is none)."""
    try:
        return (urlsplit(url.strip()).hostname or "").lower()
    except ValueError:
        return ""


def is_local_address(address: str) -> bool:
    """Loopback, private or link-local IP address (IPv4 or IPv6)."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_unspecified or ip.is_multicast:
        return False
    return ip.is_loopback or ip.is_link_local or (ip.is_private and not ip.is_global)


def classify_host(host: str) -> Locality:
    """``local``, ``lan_name`` (local once it resolves locally) or ``public``."""
    host = host.strip().lower().rstrip(".")
    if not host:
        return "public"
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        pass
    else:
        return "local" if is_local_address(host) else "public"
    if host == "localhost" or host.endswith(".localhost"):
        return "local"
    if "." not in host or host.endswith(_LAN_SUFFIXES):
        return "lan_name"
    return "public"


def provider_url(provider: Provider, settings: Settings | None = None) -> str:
    """Where ``provider``'s requests go.

    Its ``base_url``, else the built-in endpoint, else (Ollama) the address from the
    settings: loopback when the app starts Ollama itself.
    """
    if provider.base_url:
        return provider.base_url
    if provider.id == "ollama":
        if settings is not None and settings.ollama.mode == "remote" and settings.ollama.url:
            return settings.ollama.url
        return _OLLAMA_LOCAL_URL
    if provider.id in CLOUD_ENDPOINTS:
        return CLOUD_ENDPOINTS[provider.id][0]
    return ""


def is_local(provider: Provider, settings: Settings | None = None) -> bool:
    """The provider's requests stay in the school: the file says so *and* the host is."""
    if not provider.local:
        return False
    return classify_host(host_of(provider_url(provider, settings))) != "public"


async def check_resolves_locally(host: str, port: int) -> str:
    """An empty text when every address ``host`` resolves to is local, else why not.

    An IP literal or ``localhost`` needs no lookup. A name that does not resolve is
    refused too (fail closed).
    """
    kind = classify_host(host)
    if kind == "local":
        return ""
    if kind == "public":
        return f"{host} is not an address inside the school network"
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        return f"{host} could not be looked up ({exc})"
    addresses = sorted({str(info[4][0]) for info in infos})
    public = [a for a in addresses if not is_local_address(a)]
    if not addresses or public:
        return f"{host} resolves to {', '.join(public or addresses) or 'nothing'}"
    return ""
