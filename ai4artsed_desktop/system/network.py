"""This computer's LAN addresses, for the teacher to read out to the seats (no Qt)."""

from __future__ import annotations

import ipaddress
import logging
import socket

import psutil

log = logging.getLogger(__name__)


def lan_addresses() -> list[str]:
    """The IPv4 addresses other computers can reach this PC at, private LAN ones first.

    Loopback and link-local addresses are left out; empty when there is no network.
    """
    try:
        interfaces = psutil.net_if_addrs()
    except (OSError, psutil.Error) as exc:  # exotic systems: say "no address", not crash
        log.warning("Reading the network addresses failed: %s", exc)
        return []
    found: list[ipaddress.IPv4Address] = []
    for addresses in interfaces.values():
        for address in addresses:
            if address.family != socket.AF_INET:
                continue
            try:
                ip = ipaddress.IPv4Address(address.address)
            except ValueError:
                continue
            if not (ip.is_loopback or ip.is_link_local or ip.is_unspecified) and ip not in found:
                found.append(ip)
    found.sort(key=lambda ip: (not ip.is_private, int(ip)))
    return [str(ip) for ip in found]
