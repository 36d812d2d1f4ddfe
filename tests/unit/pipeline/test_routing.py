"""Routing: provider/model parsing, local-only switch, local-only roles, bad values."""

from __future__ import annotations

import dataclasses

import pytest

from ai4artsed_desktop.content.loader import load_content
from ai4artsed_desktop.content.schema import ContentLibrary
from ai4artsed_desktop.errors import AppError, ConfigError
from ai4artsed_desktop.paths import resources_dir
from ai4artsed_desktop.pipeline.routing import ROLES, Route, RoutingError, resolve, split_model
from ai4artsed_desktop.settings import Settings, replace_path


@pytest.fixture(scope="module")
def content() -> ContentLibrary:
    return load_content(resources_dir() / "configs")


def with_role(role: str, value: str, *, local_only: bool = True) -> Settings:
    settings = replace_path(Settings(), f"roles.{role}", value)
    return replace_path(settings, "safety.local_only", local_only)


def test_default_settings_route_every_role_to_ollama(content: ContentLibrary) -> None:
    for role in ROLES:
        route = resolve(role, Settings(), content)
        assert route.provider.id == "ollama"
        assert route.provider.local
        assert route.role == role
    assert resolve("interception", Settings(), content) == Route(
        content.providers["ollama"], "qwen3:8b", "interception"
    )


def test_split_model() -> None:
    assert split_model("ollama/qwen3:8b") == ("ollama", "qwen3:8b")
    assert split_model(" Mistral/mistral-large-latest ") == ("mistral", "mistral-large-latest")
    assert split_model("openrouter/meta-llama/llama-3.3-70b") == (
        "openrouter",
        "meta-llama/llama-3.3-70b",
    )
    assert split_model("qwen3:8b") == ("", "qwen3:8b")


def test_cloud_allowed_when_local_only_is_off(content: ContentLibrary) -> None:
    settings = with_role("interception", "mistral/mistral-large-latest", local_only=False)
    route = resolve("interception", settings, content)
    assert route.provider.id == "mistral"
    assert route.model == "mistral-large-latest"
    assert route.label == "mistral/mistral-large-latest"
    assert route.provider.data_protection.value == "eu"


def test_local_only_switch_refuses_cloud(content: ContentLibrary) -> None:
    settings = with_role("interception", "openrouter/some/model", local_only=True)
    with pytest.raises(RoutingError) as info:
        resolve("interception", settings, content)
    assert isinstance(info.value, AppError)
    assert info.value.user_message == (
        "Cloud models are switched off (local-only), and “openrouter/some/model” sends its "
        "requests to openrouter.ai. Ask your teacher to choose a local model for transformation."
    )
    assert "local_only" in info.value.detail


@pytest.mark.parametrize("role", ["safety", "vision"])
def test_local_only_roles_refuse_cloud_always(content: ContentLibrary, role: str) -> None:
    assert content.roles[role].local_only
    settings = with_role(role, "openai/gpt-4o", local_only=False)
    with pytest.raises(RoutingError) as info:
        resolve(role, settings, content)
    assert "must run on this computer" in info.value.user_message
    assert "choose a local model" in info.value.user_message


def test_unknown_provider_is_a_clear_config_error(content: ContentLibrary) -> None:
    settings = with_role("code", "acme/coder-9000")
    with pytest.raises(ConfigError) as info:
        resolve("code", settings, content)
    assert not isinstance(info.value, RoutingError)
    assert "unknown provider “acme”" in info.value.user_message
    assert "ollama" in info.value.user_message


@pytest.mark.parametrize("value", ["qwen3:8b", "ollama/", "/qwen3"])
def test_malformed_values(content: ContentLibrary, value: str) -> None:
    with pytest.raises(ConfigError, match="provider/model"):
        resolve("translation", with_role("translation", value), content)


def test_unknown_role(content: ContentLibrary) -> None:
    with pytest.raises(ConfigError, match="no model role"):
        resolve("painting", Settings(), content)


def test_role_missing_from_content_still_resolves(content: ContentLibrary) -> None:
    roles = {k: v for k, v in content.roles.items() if k != "adaptation"}
    trimmed = dataclasses.replace(content, roles=roles)
    route = resolve("adaptation", with_role("adaptation", "mistral/x", local_only=False), trimmed)
    assert route.provider.id == "mistral"


@pytest.mark.parametrize("model", ["gpt-oss:120b-cloud", "qwen3-coder:cloud", "GLM-4.6:CLOUD"])
def test_ollama_cloud_names_are_refused_under_local_only(
    content: ContentLibrary, model: str
) -> None:
    with pytest.raises(RoutingError) as info:
        resolve("interception", with_role("interception", f"ollama/{model}"), content)
    assert "ollama.com" in info.value.user_message
    # the safety role stays local even with local-only off
    with pytest.raises(RoutingError):
        resolve("safety", with_role("safety", f"ollama/{model}", local_only=False), content)
    # an interception model may use the cloud when the teacher switched local-only off
    route = resolve(
        "interception", with_role("interception", f"ollama/{model}", local_only=False), content
    )
    assert route.model == model


@pytest.mark.parametrize("model", ["cloudy:7b", "qwen3:8b", "my-cloud-model", "cloud"])
def test_local_names_that_mention_cloud_pass(content: ContentLibrary, model: str) -> None:
    assert (
        resolve("interception", with_role("interception", f"ollama/{model}"), content).model
        == model
    )
