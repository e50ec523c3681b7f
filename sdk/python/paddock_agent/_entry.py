"""The child process of the local runner: ``python3 -m paddock_agent._entry <module:attribute>`` loads the
agent and runs it with run_agent (the environment is already the pod's)."""

from __future__ import annotations

import sys

from . import run_agent
from ._target import TargetError, load_agent

if __name__ == "__main__":
    try:
        defn = load_agent(sys.argv[1])
    except TargetError as err:
        print(f"paddock_agent.run: {err}", file=sys.stderr)
        sys.exit(64)
    run_agent(defn)
