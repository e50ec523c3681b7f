"""The Paddock agent SDK for Python, standard library only (docs/agent-authors.md#writing-an-agent-with-the-sdk).

    from paddock_agent import AgentFailure, agent, run_agent

    @agent(name="hello", inputs_schema={...}, outputs_schema={...})
    def hello(inputs, ctx):
        ctx.log.info("greeting", who=inputs["who"])
        return {"greeting": f"hello {inputs['who']}"}

    if __name__ == "__main__":
        run_agent(hello)

run_agent reads and checks the inputs, calls the function, checks the outputs, writes them as the pod's
termination message and exits: 0 ok, 1 failure (AgentFailure or any exception), 2 invalid inputs,
3 invalid outputs, 4 outputs over 4096 bytes.
"""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Iterable, Mapping, NoReturn, Optional

from ._contract import (
    EXIT_FAILED,
    EXIT_INVALID_INPUTS,
    EXIT_INVALID_OUTPUTS,
    EXIT_OK,
    EXIT_OUTPUTS_TOO_LARGE,
    MAX_OUTPUTS_BYTES,
)
from ._log import Logger
from ._run import AgentContext, AgentDefinition, AgentFailure, RunResult, execute_agent
from ._schema import CHECKED_KEYWORDS
from ._sensitive import REDACTED

__all__ = [
    "AgentContext",
    "AgentDefinition",
    "AgentFailure",
    "CHECKED_KEYWORDS",
    "EXIT_FAILED",
    "EXIT_INVALID_INPUTS",
    "EXIT_INVALID_OUTPUTS",
    "EXIT_OK",
    "EXIT_OUTPUTS_TOO_LARGE",
    "Logger",
    "MAX_OUTPUTS_BYTES",
    "REDACTED",
    "RunResult",
    "agent",
    "define_agent",
    "execute_agent",
    "run_agent",
]


def define_agent(
    name: str,
    run: Callable[[Any, AgentContext], Any],
    inputs_schema: Optional[dict] = None,
    outputs_schema: Optional[dict] = None,
    secret_env: Iterable[str] = (),
) -> AgentDefinition:
    return AgentDefinition(name, run, inputs_schema, outputs_schema, tuple(secret_env))


def agent(
    name: str,
    inputs_schema: Optional[dict] = None,
    outputs_schema: Optional[dict] = None,
    secret_env: Iterable[str] = (),
) -> Callable[[Callable[[Any, AgentContext], Any]], AgentDefinition]:
    """Decorator: turns ``def run(inputs, ctx) -> dict`` (or an ``async def``) into an AgentDefinition."""

    def wrap(run: Callable[[Any, AgentContext], Any]) -> AgentDefinition:
        return define_agent(name, run, inputs_schema, outputs_schema, secret_env)

    return wrap


def run_agent(defn: AgentDefinition, env: Optional[Mapping[str, str]] = None) -> NoReturn:
    """Runs the agent with the pod's environment (default: os.environ) and exits with its exit code.
    Exits with os._exit after flushing, so threads the agent left running cannot keep the pod alive."""
    def leave(code: int) -> NoReturn:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (RuntimeError, OSError):
                pass  # a signal handler that interrupted a write to this stream cannot enter it again
        os._exit(code)

    result = execute_agent(defn, os.environ if env is None else env, exit_on_signal=leave)
    leave(result.exit_code)
