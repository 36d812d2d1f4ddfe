"""One-way bindings from view-model state to widgets, with handles that disconnect.

A view-model exposes ``prop`` plus a ``prop_changed`` signal; :func:`bind` copies the value
to the target now and on every change, and returns a :class:`Binding` the widget keeps.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QMetaObject, QObject, SignalInstance


class Binding:
    """A live connection that can be cut with :meth:`disconnect` (idempotent)."""

    def __init__(self, signal: SignalInstance, slot: Callable[..., Any]) -> None:
        self._signal = signal
        self._slot = slot
        self._connection: QMetaObject.Connection | None = signal.connect(slot)

    @property
    def connected(self) -> bool:
        return self._connection is not None

    def disconnect(self) -> None:
        if self._connection is not None:
            QObject.disconnect(self._connection)
            self._connection = None


class Bindings:
    """A group of bindings owned by one widget; :meth:`disconnect_all` cuts them all."""

    def __init__(self) -> None:
        self._items: list[Binding] = []

    def add(self, binding: Binding) -> Binding:
        self._items.append(binding)
        return binding

    def connect(self, signal: SignalInstance, slot: Callable[..., Any]) -> Binding:
        return self.add(Binding(signal, slot))

    def bind(
        self,
        source: QObject,
        prop: str,
        target: QObject | Callable[[Any], Any],
        target_prop: str = "",
    ) -> Binding:
        return self.add(bind(source, prop, target, target_prop))

    def disconnect_all(self) -> None:
        for item in self._items:
            item.disconnect()
        self._items.clear()

    def __len__(self) -> int:
        return len(self._items)


def _setter(target: QObject | Callable[[Any], Any], target_prop: str) -> Callable[[Any], Any]:
    if isinstance(target, QObject):
        if not target_prop:
            raise ValueError("binding to a QObject needs target_prop")
        method = getattr(target, "set" + target_prop[:1].upper() + target_prop[1:], None)
        if callable(method):
            return method  # type: ignore[no-any-return]
        return lambda value: target.setProperty(target_prop, value)
    return target


def bind(
    source: QObject, prop: str, target: QObject | Callable[[Any], Any], target_prop: str = ""
) -> Binding:
    """Keep ``target.target_prop`` (or the callable ``target``) equal to ``source.prop``.

    ``source`` must have a ``<prop>_changed`` signal carrying the new value. For a QObject
    target the Qt setter ``set<TargetProp>`` is used when it exists, else ``setProperty``.
    """
    signal = getattr(source, f"{prop}_changed", None)
    if not isinstance(signal, SignalInstance):
        raise AttributeError(f"{type(source).__name__} has no signal {prop}_changed")
    setter = _setter(target, target_prop)
    setter(getattr(source, prop))
    return Binding(signal, setter)
