"""Writes the termination message (docs/agent-authors.md#outputs): compact JSON of the outputs, or a short
reason on failure. Sizes are UTF-8 bytes, checked before anything is written."""

from __future__ import annotations

import json
import os
import re
from typing import Any

from ._contract import MAX_OUTPUTS_BYTES, MAX_REASON_CHARS


class OutputsError(Exception):
    pass


def serialize_outputs(outputs: Any) -> tuple[str, dict, int]:
    """(compact JSON text, the value as the operator will read it, UTF-8 size). None counts as {}."""
    if outputs is None:
        outputs = {}
    if not isinstance(outputs, dict):
        raise OutputsError(f"outputs must be a JSON object (a dict), not {type(outputs).__name__}")
    try:
        # ensure_ascii=False: the bytes are counted as UTF-8, as the kubelet counts them.
        text = json.dumps(outputs, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as err:
        raise OutputsError(f"outputs cannot be turned into JSON: {err}") from None
    return text, json.loads(text), len(text.encode("utf-8"))


def outputs_size_problem(size: int) -> str | None:
    """Why outputs of ``size`` bytes cannot be written, or None (exactly the limit fits)."""
    if size <= MAX_OUTPUTS_BYTES:
        return None
    return (
        f"outputs are {size} bytes of JSON, over the {MAX_OUTPUTS_BYTES}-byte limit of the termination "
        "message (Kubernetes would cut them); return less, or a URL to the full result"
    )


def short_reason(message: str) -> str:
    """One line of at most MAX_REASON_CHARS characters: what the operator shows of a failure."""
    line = re.sub(r"\s+", " ", message).strip() or "the agent failed without a message"
    return line if len(line) <= MAX_REASON_CHARS else line[: MAX_REASON_CHARS - 1] + "…"


def write_whole_file(path: str, text: str) -> None:
    """Writes ``text`` as the whole file before the process exits. In a pod the path is
    /dev/termination-log, bind-mounted by the kubelet and read after the container exits; it cannot be
    replaced by a rename, so: one truncating open, complete writes, fsync."""
    data = text.encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        try:
            os.fsync(fd)
        except OSError:
            pass  # some special files cannot be synced; the data is written
    finally:
        os.close(fd)
