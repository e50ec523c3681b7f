"""Structured logs: one JSON object per line on stderr, every line through the Scrubber
(docs/agent-authors.md#logs)."""

from __future__ import annotations

import datetime
import json
from typing import Any, Callable, Mapping

from ._contract import ENV_LOG_LEVEL
from ._sensitive import Scrubber

LEVELS = ("debug", "info", "warn", "error")


def log_level_from(env: Mapping[str, str]) -> str:
    wanted = (env.get(ENV_LOG_LEVEL) or "").lower()
    if wanted == "warning":
        wanted = "warn"
    return wanted if wanted in LEVELS else "info"


class Logger:
    """``ctx.log.info("cloned", files=12)``: a message and keyword fields. Values of sensitive inputs and
    outputs and of secret environment variables are replaced by "[REDACTED]" wherever they appear."""

    def __init__(self, write: Callable[[str], Any], scrubber: Scrubber, base: Mapping[str, Any], level: str = "info"):
        self._write = write
        self._scrubber = scrubber
        self._base = dict(base)
        self._threshold = LEVELS.index(level)

    def _emit(self, level: str, message: str, fields: Mapping[str, Any]) -> None:
        if LEVELS.index(level) < self._threshold:
            return
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        core = {"time": now, "level": level, "msg": self._scrubber.text(str(message))}
        line = {**core, **self._scrubber.data(dict(fields)), **self._base, **core}
        self._write(json.dumps(line, ensure_ascii=False, separators=(",", ":"), default=str) + "\n")

    def debug(self, message: str, **fields: Any) -> None:
        self._emit("debug", message, fields)

    def info(self, message: str, **fields: Any) -> None:
        self._emit("info", message, fields)

    def warn(self, message: str, **fields: Any) -> None:
        self._emit("warn", message, fields)

    warning = warn

    def error(self, message: str, **fields: Any) -> None:
        self._emit("error", message, fields)
