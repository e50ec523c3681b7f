"""Runs an agent without a cluster (docs/agent-authors.md#the-local-runner):

    python3 -m paddock_agent.run <module:function> --inputs <file> [--outputs <file>] [--env K=V]...
        [--workflow NAME] [--step NAME] [--attempt N]

The agent runs in a child Python with the environment a pod gives it: the PADDOCK_* variables, HOME and
TMPDIR in a fresh temporary folder, PATH, PYTHONPATH (this SDK, the caller's PYTHONPATH and the current folder) and the --env
values; nothing else of the caller's environment. Afterwards it prints the outputs (stdout) or the reason
(stderr) and exits with the agent's exit code.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from . import _contract as c

USAGE_ERROR = 64  # the runner could not start the agent (bad command line, unreadable inputs)
SDK_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # type: ignore[override]
        # argparse exits 2, which is the SDK's "invalid inputs": say usage errors with USAGE_ERROR instead.
        raise UsageError(f"{message}\n{self.format_usage().strip()}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python3 -m paddock_agent.run", description="Run a Paddock agent locally.")
    p.add_argument("target", help="the agent, as module:attribute (an @agent-decorated function)")
    p.add_argument("--inputs", required=True, help="JSON file with the step's inputs")
    p.add_argument("--outputs", help="write the termination message here (default: a temporary file)")
    p.add_argument("--env", action="append", default=[], metavar="K=V", help="an environment variable for the agent")
    p.add_argument("--workflow", default="local")
    p.add_argument("--step", default="local")
    p.add_argument("--attempt", type=int, default=1)
    return p


def parse_env(pairs: list[str]) -> dict[str, str]:
    env: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise UsageError(f"--env {pair!r}: expected NAME=value")
        if name.startswith("PADDOCK_"):
            raise UsageError(f"--env {name}: names starting with PADDOCK_ are set by Paddock (and refused in an Agent)")
        env[name] = value
    return env


def main(argv: list[str]) -> int:
    args = _parser().parse_args(argv)
    extra = parse_env(args.env)
    if args.attempt < 1:
        raise UsageError("--attempt: expected a whole number >= 1")
    try:
        with open(args.inputs, encoding="utf-8") as f:
            inputs = json.load(f)
    except OSError as err:
        raise UsageError(f"--inputs {args.inputs}: cannot read ({type(err).__name__})") from None
    except ValueError:
        raise UsageError(f"--inputs {args.inputs}: not valid JSON") from None

    work = tempfile.mkdtemp(prefix="paddock-agent-")
    try:
        # As in a pod: the same compact JSON in the variable and the file.
        inputs_json = json.dumps(inputs, separators=(",", ":"), ensure_ascii=False)
        inputs_path = os.path.join(work, "inputs.json")
        with open(inputs_path, "w", encoding="utf-8") as f:
            f.write(inputs_json)
        outputs_path = os.path.abspath(args.outputs) if args.outputs else os.path.join(work, "termination-log")
        open(outputs_path, "w").close()
        # This SDK, the caller's PYTHONPATH (where the agent's module may be) and the current folder.
        caller_path = os.environ.get("PYTHONPATH", "")
        python_path = os.pathsep.join(p for p in [SDK_DIR, caller_path, os.getcwd()] if p)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": work,
            "TMPDIR": work,
            "PYTHONPATH": python_path,
            "PYTHONDONTWRITEBYTECODE": "1",
            **extra,
            c.ENV_INPUTS: inputs_json,
            c.ENV_INPUTS_FILE: inputs_path,
            c.ENV_OUTPUTS_FILE: outputs_path,
            c.ENV_WORKFLOW: args.workflow,
            c.ENV_STEP: args.step,
            c.ENV_ATTEMPT: str(args.attempt),
        }
        proc = subprocess.run([sys.executable, "-m", "paddock_agent._entry", args.target], env=env)
        code = proc.returncode if proc.returncode >= 0 else 128 - proc.returncode
        with open(outputs_path, encoding="utf-8", errors="replace") as f:
            written = f.read()
        size = len(written.encode("utf-8"))
        if code == 0:
            print(written if written.strip() else "{}")
            where = f" in {args.outputs}" if args.outputs else ""
            print(f"agent exited 0; outputs: {size} bytes{where}", file=sys.stderr)
        else:
            print(f"agent exited {code}: {written.strip() or '(no reason written)'}", file=sys.stderr)
        if size > c.MAX_OUTPUTS_BYTES:
            print(f"warning: the outputs file has {size} bytes; a pod keeps only the last {c.MAX_OUTPUTS_BYTES}", file=sys.stderr)
        return code
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv[1:]))
    except UsageError as err:
        print(f"paddock_agent.run: {err}", file=sys.stderr)
        sys.exit(USAGE_ERROR)
