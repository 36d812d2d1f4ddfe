"""Locality from the host: a provider file can never make a public host local."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary, DataProtection, Provider, Text
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.locality import (
    check_resolves_locally,
    classify_host,
    is_local,
    provider_url,
)
from ai4artsed_desktop.pipeline.routing import RoutingError, resolve
from ai4artsed_desktop.settings import BackendSettings, Settings, replace_path


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("127.0.0.1", "local"),
        ("::1", "local"),
        ("10.1.2.3", "local"),
        ("172.16.0.9", "local"),
        ("172.32.0.9", "public"),
        ("192.168.1.20", "local"),
        ("169.254.3.3", "local"),
        ("fd12:3456::1", "local"),
        ("8.8.8.8", "public"),
        ("100.64.0.1", "public"),  # carrier-grade NAT is not the school's network
        ("0.0.0.0", "public"),
        ("localhost", "local"),
        ("lab.localhost", "local"),
        ("gpu-server", "lan_name"),
        ("gpu-server.local", "lan_name"),
        ("llm.school.lan", "lan_name"),
        ("api.openai.com", "public"),
        ("llm.example.org", "public"),
        ("", "public"),
    ],
)
def test_classify_host(host: str, kind: str) -> None:
    assert classify_host(host) == kind


def _provider(pid: str, base_url: str = "", *, local: bool = True) -> Provider:
    return Provider(pid, Text("x", "x"), DataProtection.local, local, base_url)


def test_a_file_cannot_make_a_public_host_local() -> None:
    assert not is_local(_provider("openai"))  # built-in endpoint api.openai.com
    assert not is_local(_provider("mistral"))
    assert not is_local(_provider("lab", "https://llm.example.org/v1"))
    assert is_local(_provider("lab", "http://192.168.1.20:8080/v1"))
    assert not is_local(_provider("lab", "http://192.168.1.20:8080/v1", local=False))
    assert is_local(_provider("openai", "http://127.0.0.1:8080/v1"))  # really local now


def test_ollama_locality_follows_its_address() -> None:
    ollama = _provider("ollama")
    assert is_local(ollama, Settings())
    remote = dataclasses.replace(
        Settings(), ollama=BackendSettings(mode="remote", url="https://ollama.example.com")
    )
    assert provider_url(ollama, remote) == "https://ollama.example.com"
    assert not is_local(ollama, remote)


@pytest.fixture(scope="module")
def content() -> ContentLibrary:
    return load_content(resources_dir() / "configs")


def _with_local_openai(content: ContentLibrary) -> ContentLibrary:
    """What a user providers.json redefining openai as ``local: true`` loads to."""
    providers = dict(content.providers)
    providers["openai"] = dataclasses.replace(providers["openai"], local=True)
    return dataclasses.replace(content, providers=providers)


@pytest.mark.parametrize("role", ["interception", "safety"])
def test_openai_redefined_as_local_does_not_pass_local_only(
    content: ContentLibrary, role: str
) -> None:
    tricked = _with_local_openai(content)
    settings = replace_path(Settings(), f"roles.{role}", "openai/gpt-4o")
    with pytest.raises(RoutingError) as info:
        resolve(role, settings, tricked)
    assert "api.openai.com" in info.value.user_message


def test_safety_refuses_a_public_host_even_with_local_only_off(content: ContentLibrary) -> None:
    settings = replace_path(Settings(), "roles.safety", "openai/gpt-4o")
    settings = replace_path(settings, "safety.local_only", False)
    with pytest.raises(RoutingError):
        resolve("safety", settings, _with_local_openai(content))


def test_lan_server_passes_local_only(content: ContentLibrary) -> None:
    providers = dict(content.providers)
    providers["lab"] = _provider("lab", "http://192.168.1.20:8080/v1")
    lab_content = dataclasses.replace(content, providers=providers)
    settings = replace_path(Settings(), "roles.safety", "lab/smollm2")
    assert resolve("safety", settings, lab_content).provider.id == "lab"


def test_names_are_checked_by_their_addresses() -> None:
    async def check() -> tuple[str, str, str]:
        return (
            await check_resolves_locally("localhost", 80),
            await check_resolves_locally("api.openai.com", 443),
            await check_resolves_locally("no-such-host.invalid.local", 80),
        )

    ok, public, unknown = asyncio.run(check())
    assert ok == ""
    assert "not an address inside the school network" in public
    assert unknown  # a name that does not resolve is refused (fail closed)
