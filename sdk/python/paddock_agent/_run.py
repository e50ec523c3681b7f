"""One run of an agent, from the environment to an exit code: read and check the inputs, call run(),
check the outputs, write the termination message. It returns instead of exiting, so tests and the local
runner can call it; run_agent() exits (docs/agent-authors.md#writing-an-agent-with-the-sdk)."""

from __future__ import annotations

import asyncio
import inspect
import signal
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

from . import _contract as c
from ._inputs import InputsError, read_inputs
from ._log import Logger, log_level_from
from ._outputs import OutputsError, outputs_size_problem, serialize_outputs, short_reason, write_whole_file
from ._schema import check, describe
from ._sensitive import Scrubber, secret_env_values, sensitive_strings


class AgentFailure(Exception):
    """Fails the attempt on purpose. The message becomes the step's reason, shown in status and Events:
    keep it short and never put a secret in it (known secret values are scrubbed anyway). The exit code
    defaults to 1; any code from 1 to 125 may be given."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        # 0 would claim success; above 125 collides with the shell's "killed by signal" codes.
        self.exit_code = exit_code if isinstance(exit_code, int) and 1 <= exit_code <= 125 else 1


@dataclass(frozen=True)
class AgentContext:
    workflow: str  # $PADDOCK_WORKFLOW ("local" in the local runner)
    step: str  # $PADDOCK_STEP
    attempt: int  # $PADDOCK_ATTEMPT, 1 for the first attempt
    log: Logger
    tmp_dir: str  # "/tmp" in the pod; a fresh temporary folder in the local runner


@dataclass(frozen=True)
class AgentDefinition:
    name: str
    run: Callable[[Any, AgentContext], Any]  # returns the outputs dict (or a coroutine of it)
    inputs_schema: Optional[dict] = None
    outputs_schema: Optional[dict] = None
    # Names of variables holding secrets (the Agent's spec.secrets[].env); names that look secret
    # (TOKEN, SECRET, PASSWORD, KEY, CREDENTIAL, AUTH...) are scrubbed without being listed.
    secret_env: tuple = field(default_factory=tuple)

    def __call__(self, inputs: Any, ctx: AgentContext) -> Any:
        return self.run(inputs, ctx)


@dataclass(frozen=True)
class RunResult:
    exit_code: int
    written: str  # the outputs' JSON (exit 0) or the short reason
    outputs_file: Optional[str]  # None if it could not be written


def _describe(err: BaseException) -> str:
    return str(err) or type(err).__name__


# Exit codes of an agent stopped by a signal, as a shell reports them (docs/agent-authors.md#exit-codes-and-failures).
SIGNAL_EXIT_CODES = {"SIGINT": 130, "SIGTERM": 143}


def execute_agent(
    defn: AgentDefinition,
    env: Mapping[str, str],
    write_log: Optional[Callable[[str], Any]] = None,
    exit_on_signal: Optional[Callable[[int], None]] = None,
) -> RunResult:
    """``exit_on_signal`` (run_agent sets it): stop on SIGTERM and SIGINT with a reason in the outputs file
    and exit 128 + the signal's number. An agent is its container's PID 1, and the kernel delivers no signal to
    PID 1 that it does not handle: without this, deleting, cancelling or timing out its pod would wait out the
    whole termination grace period and then kill it with nothing said."""
    scrubber = Scrubber()
    scrubber.add(secret_env_values(env, defn.secret_env))
    workflow = env.get(c.ENV_WORKFLOW) or "local"
    step = env.get(c.ENV_STEP) or "local"
    attempt_text = env.get(c.ENV_ATTEMPT) or ""
    attempt = int(attempt_text) if attempt_text.isdigit() and int(attempt_text) >= 1 else 1
    write = write_log or (lambda line: (sys.stderr.write(line), sys.stderr.flush()))
    log = Logger(write, scrubber, {"agent": defn.name, "workflow": workflow, "step": step, "attempt": attempt}, log_level_from(env))
    outputs_file = env.get(c.ENV_OUTPUTS_FILE) or c.DEFAULT_OUTPUTS_FILE

    def finish(code: int, content: str) -> RunResult:
        try:
            write_whole_file(outputs_file, content)
            return RunResult(code, content, outputs_file)
        except OSError as err:
            log.error(f"cannot write the outputs file {outputs_file} ({type(err).__name__})")
            return RunResult(c.EXIT_FAILED if code == c.EXIT_OK else code, "", None)

    def fail(code: int, message: str) -> RunResult:
        reason = short_reason(scrubber.text(message))  # scrubbed before cutting
        log.error(reason, exitCode=code)
        return finish(code, reason)

    if exit_on_signal is not None:
        stopping = []

        def on_signal(signum: int, _frame: Any) -> None:
            if stopping:  # a second signal while the first is handled changes nothing
                return
            stopping.append(signum)
            name = signal.Signals(signum).name
            code = SIGNAL_EXIT_CODES[name]
            reason = short_reason(f"stopped by {name} before it finished (the pod was deleted, cancelled or timed out)")
            try:
                log.error(reason, exitCode=code)
            except RuntimeError:
                pass  # the signal landed inside a write to stderr, which cannot be entered again: the file says it
            exit_on_signal(finish(code, reason).exit_code)

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)

    try:
        inputs, source = read_inputs(env)
    except InputsError as err:
        return fail(c.EXIT_INVALID_INPUTS, str(err))
    if defn.inputs_schema:
        scrubber.add(sensitive_strings(inputs, defn.inputs_schema))
        problems = check(inputs, defn.inputs_schema)
        if problems:
            return fail(c.EXIT_INVALID_INPUTS, f"inputs do not match inputs_schema {describe(problems)}")

    ctx = AgentContext(workflow, step, attempt, log, env.get("TMPDIR") or c.DEFAULT_TMP_DIR)
    log.debug("inputs read", source=source)
    try:
        outputs = defn.run(inputs, ctx)
        if inspect.isawaitable(outputs):
            outputs = asyncio.run(_await(outputs))
    except AgentFailure as err:
        return fail(err.exit_code, str(err))
    except Exception as err:  # noqa: BLE001 - any error of the agent fails the attempt, with a reason
        return fail(c.EXIT_FAILED, f"uncaught {type(err).__name__}: {_describe(err)}")

    # Checked in this order: a JSON object, the schema, then the size of the text as it would be written.
    try:
        text, value, size = serialize_outputs(outputs)
    except OutputsError as err:
        return fail(c.EXIT_INVALID_OUTPUTS, str(err))
    if defn.outputs_schema:
        scrubber.add(sensitive_strings(value, defn.outputs_schema))
        problems = check(value, defn.outputs_schema)
        if problems:
            return fail(c.EXIT_INVALID_OUTPUTS, f"outputs do not match outputs_schema {describe(problems)}")
    too_large = outputs_size_problem(size)
    if too_large:
        return fail(c.EXIT_OUTPUTS_TOO_LARGE, too_large)
    result = finish(c.EXIT_OK, text)
    if result.exit_code == c.EXIT_OK:
        log.info("outputs written", bytes=size)
    return result


async def _await(awaitable: Any) -> Any:
    return await awaitable
