"""Finds an agent by ``module:attribute`` (e.g. ``scanner:agent``), for the local runner."""

from __future__ import annotations

import importlib

from ._run import AgentDefinition


class TargetError(Exception):
    pass


def load_agent(target: str) -> AgentDefinition:
    module_name, sep, attribute = target.partition(":")
    if not sep or not module_name or not attribute:
        raise TargetError(f"{target!r}: expected module:function, e.g. my_agent:scan")
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:
        raise TargetError(f"cannot import {module_name!r}: {err}") from None
    value = getattr(module, attribute, None)
    if value is None:
        raise TargetError(f"module {module_name!r} has no attribute {attribute!r}")
    if not isinstance(value, AgentDefinition):
        raise TargetError(
            f"{target} is not an agent: decorate the function with @agent(name=...) or build it with define_agent(...)"
        )
    return value
