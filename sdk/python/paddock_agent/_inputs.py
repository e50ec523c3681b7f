"""Reads the step's inputs (docs/agent-authors.md#inputs): $PADDOCK_INPUTS, else the file named by
$PADDOCK_INPUTS_FILE. Messages never quote the text (it may hold sensitive values)."""

from __future__ import annotations

import json
from typing import Any, Mapping

from ._contract import ENV_INPUTS, ENV_INPUTS_FILE


class InputsError(Exception):
    pass


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _parse(text: str, source: str) -> Any:
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except ValueError:
        size = len(text.encode("utf-8"))
        raise InputsError(
            f"{source} is not valid JSON ({size} bytes; its content is not shown, it may hold sensitive values)"
        ) from None


def read_inputs(env: Mapping[str, str]) -> tuple[Any, str]:
    """(inputs, where they came from), or InputsError with a clear message."""
    inline = env.get(ENV_INPUTS)
    if inline is not None and inline.strip() != "":
        return _parse(inline, f"${ENV_INPUTS}"), f"${ENV_INPUTS}"
    path = env.get(ENV_INPUTS_FILE)
    if not path:
        raise InputsError(
            f"no inputs: neither ${ENV_INPUTS} nor ${ENV_INPUTS_FILE} is set "
            "(Paddock sets both in the pod; locally, use the local runner)"
        )
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError as err:
        code = err.__class__.__name__ if err.errno is None else _errno_name(err.errno)
        raise InputsError(
            f"no inputs: ${ENV_INPUTS} is not set and ${ENV_INPUTS_FILE} ({path}) cannot be read ({code})"
        ) from None
    source = f"${ENV_INPUTS_FILE} ({path})"
    return _parse(text, source), source


def _errno_name(number: int) -> str:
    import errno

    return errno.errorcode.get(number, str(number))
