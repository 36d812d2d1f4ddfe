"""Model roles -> (provider, model), with the local-only switch enforced here.

A role's setting is ``provider/model``: ``ollama/qwen3:8b``, ``mistral/mistral-large-latest``,
``openrouter/meta-llama/llama-3.3-70b-instruct`` (everything after the first ``/`` is the
model). A provider whose requests leave the school (decided from its host by
:mod:`.locality`, never from a file's ``local`` claim alone) is refused

* always for roles whose ``ModelRoleInfo.local_only`` is true (safety, vision), and
* for every role while ``settings.safety.local_only`` is on (the default).

That refusal is a :class:`RoutingError` raised before any request is made, not a
comment in a config file.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..content.schema import ContentLibrary, Provider
from ..errors import AppError, ConfigError
from ..settings import ModelRoles, Settings
from .locality import host_of, is_local, provider_url

ROLES = tuple(f.name for f in dataclasses.fields(ModelRoles))


class RoutingError(AppError):
    """A role points at a provider that is not allowed (cloud while local-only)."""


@dataclass(frozen=True)
class Route:
    """Where a role's requests go."""

    provider: Provider
    model: str
    role: str = ""

    @property
    def label(self) -> str:
        """``provider/model`` as written in the settings."""
        return f"{self.provider.id}/{self.model}"


def is_ollama_cloud_name(model: str) -> bool:
    """True for Ollama model names that Ollama forwards to ollama.com.

    Ollama treats a tag that is ``cloud`` or ends in ``-cloud`` (``gpt-oss:120b-cloud``,
    ``qwen3-coder:cloud``) as a cloud model: the prompt leaves the computer.
    """
    tag = model.strip().rsplit("/", 1)[-1].rpartition(":")[2].casefold()
    return ":" in model and (tag == "cloud" or tag.endswith("-cloud"))


def refuse_ollama_cloud_name(model: str, role_name: str = "") -> None:
    """Raise :class:`RoutingError` for an Ollama cloud model name (see above)."""
    if is_ollama_cloud_name(model):
        who = f"for {role_name} " if role_name else ""
        raise RoutingError(
            f"“{model}” is a cloud model: Ollama would send the text to ollama.com. Cloud "
            f"models are switched off (local-only). Ask your teacher to choose a local "
            f"model {who}instead.",
            detail=f"Ollama cloud model name {model!r} refused under local-only",
            key="error.cloud_model_off",
            params={"model": model},
        )


def split_model(value: str) -> tuple[str, str]:
    """``"ollama/qwen3:8b"`` -> ``("ollama", "qwen3:8b")``; ``("", value)`` without prefix."""
    prefix, sep, model = value.strip().partition("/")
    if not sep:
        return "", value.strip()
    return prefix.strip().lower(), model.strip()


def _role_name(role: str, content: ContentLibrary) -> str:
    info = content.roles.get(role)
    return info.name.en.lower() if info is not None else role


def resolve(role: str, settings: Settings, content: ContentLibrary) -> Route:
    """The provider and model for ``role``.

    Raises:
        ConfigError: unknown role, a value without ``provider/``, an unknown provider or
            an empty model name.
        RoutingError: a cloud provider for a local-only role, or while local-only is on.
    """
    if role not in ROLES:
        raise ConfigError(
            f"There is no model role called “{role}”.",
            detail=f"known roles: {', '.join(ROLES)}",
            key="error.model_setting",
            params={"role": role},
        )
    value = getattr(settings.roles, role)
    prefix, model = split_model(value)
    name = _role_name(role, content)
    if not prefix or not model:
        raise ConfigError(
            f"The model for {name} must be written as provider/model, for example "
            f"ollama/qwen3:8b. Ask your teacher to fix it in the settings.",
            detail=f"roles.{role} = {value!r}",
            key="error.model_setting",
            params={"role": role},
        )
    provider = content.providers.get(prefix)
    if provider is None:
        known = ", ".join(sorted(content.providers)) or "none"
        raise ConfigError(
            f"The model for {name} uses the unknown provider “{prefix}”. Known providers: {known}.",
            detail=f"roles.{role} = {value!r}; known providers: {known}",
            key="error.model_setting",
            params={"role": role},
        )
    info = content.roles.get(role)
    local_role = info is not None and info.local_only
    if provider.id == "ollama" and (settings.safety.local_only or local_role):
        refuse_ollama_cloud_name(model, name)
    local = is_local(provider, settings)
    where = host_of(provider_url(provider, settings)) or "an unknown address"
    if not local and local_role:
        raise RoutingError(
            f"The {name} model must run on this computer or in the school network, so it "
            f"cannot use “{value}” (its requests go to {where}). Ask your teacher to choose "
            f"a local model for {name}.",
            detail=f"roles.{role} = {value!r}; role is local-only; host {where} is not local",
            key="error.model_must_be_local",
            params={"model": value, "host": where},
        )
    if not local and settings.safety.local_only:
        raise RoutingError(
            f"Cloud models are switched off (local-only), and “{value}” sends its requests "
            f"to {where}. Ask your teacher to choose a local model for {name}.",
            detail=f"roles.{role} = {value!r}; settings.safety.local_only is on; host {where}",
            key="error.cloud_model_off",
            params={"model": value},
        )
    return Route(provider, model, role)
