"""Sensitive values: those a schema marks ``x-paddock-sensitive: true`` and those of secret environment
variables (docs/agent-authors.md#sensitive-fields). Logs and failure messages go through a Scrubber that
replaces every known secret by "[REDACTED]"."""

from __future__ import annotations

import json
import re
from typing import Any, Iterable, Mapping

SENSITIVE_KEYWORD = "x-paddock-sensitive"
REDACTED = "[REDACTED]"
ANY = "*"  # a path segment for any array index or object key
MAX_REF_EXPANSIONS = 8  # a recursive $ref is unrolled this often, then hidden whole (fail closed)
# Secrets shorter than this are hidden only where a whole string equals them: as substrings they would
# match everywhere.
MIN_SUBSTRING_SECRET = 4

_SECRET_ENV_NAME = re.compile(
    r"TOKEN|SECRET|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|API_?KEY|PRIVATE_?KEY|ACCESS_?KEY|AUTH|COOKIE|SESSION",
    re.IGNORECASE,
)


def _unescape(segment: str) -> str:
    return segment.replace("~1", "/").replace("~0", "~")


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _resolve_ref(root: Mapping[str, Any], ref: str) -> Any:
    if not ref.startswith("#"):
        return None
    pointer = ref[1:]
    if pointer == "":
        return root
    if not pointer.startswith("/"):
        return None
    node: Any = root
    for seg in (_unescape(s) for s in pointer[1:].split("/")):
        if isinstance(node, list) and seg.isdigit() and int(seg) < len(node):
            node = node[int(seg)]
        elif isinstance(node, dict):
            node = node.get(seg)
        else:
            return None
    return node


def _mentions_sensitive(node: Any) -> bool:
    if isinstance(node, list):
        return any(_mentions_sensitive(n) for n in node)
    if not isinstance(node, dict):
        return False
    return node.get(SENSITIVE_KEYWORD) is True or any(_mentions_sensitive(n) for n in node.values())


def _collect(root: dict, node: Any, path: tuple, out: list, refs: dict) -> None:
    if not isinstance(node, dict):
        return
    if node.get(SENSITIVE_KEYWORD) is True:
        out.append(path)
        return
    ref = node.get("$ref")
    if isinstance(ref, str):
        target = _resolve_ref(root, ref)
        seen = refs.get(ref, 0)
        if seen >= MAX_REF_EXPANSIONS:
            if _mentions_sensitive(target):
                out.append(path)
        else:
            refs[ref] = seen + 1
            _collect(root, target, path, out, refs)
            refs[ref] = seen
    props = node.get("properties")
    if isinstance(props, dict):
        for key, sub in props.items():
            _collect(root, sub, path + (key,), out, refs)
    pattern_props = node.get("patternProperties")
    if isinstance(pattern_props, dict):
        for sub in pattern_props.values():
            _collect(root, sub, path + (ANY,), out, refs)
    for key in ("additionalProperties", "unevaluatedProperties", "additionalItems", "unevaluatedItems"):
        _collect(root, node.get(key), path + (ANY,), out, refs)
    items = node.get("items")
    if isinstance(items, list):
        for i, sub in enumerate(items):
            _collect(root, sub, path + (str(i),), out, refs)
    else:
        _collect(root, items, path + (ANY,), out, refs)
    prefix = node.get("prefixItems")
    if isinstance(prefix, list):
        for i, sub in enumerate(prefix):
            _collect(root, sub, path + (str(i),), out, refs)
    for key in ("allOf", "anyOf", "oneOf"):
        branches = node.get(key)
        if isinstance(branches, list):
            for sub in branches:
                _collect(root, sub, path, out, refs)
    for key in ("if", "then", "else"):
        _collect(root, node.get(key), path, out, refs)


def sensitive_paths(schema: Any) -> list[tuple]:
    """Paths (tuples of segments, "*" = any) a schema marks sensitive; ``[()]`` means the whole value."""
    if not isinstance(schema, dict):
        return []
    out: list[tuple] = []
    _collect(schema, schema, (), out, {})
    return out


def values_at(data: Any, paths: Iterable[tuple]) -> list:
    out: list = []

    def walk(value: Any, path: tuple, i: int) -> None:
        if i == len(path):
            out.append(value)
            return
        seg = path[i]
        if isinstance(value, list):
            if seg == ANY:
                for v in value:
                    walk(v, path, i + 1)
            elif seg.isdigit() and int(seg) < len(value):
                walk(value[int(seg)], path, i + 1)
        elif isinstance(value, dict):
            if seg == ANY:
                for v in value.values():
                    walk(v, path, i + 1)
            elif seg in value:
                walk(value[seg], path, i + 1)

    for p in paths:
        walk(data, p, 0)
    return out


def sensitive_strings(data: Any, schema: Any) -> list[str]:
    """The sensitive values of ``data`` under ``schema`` as strings (keys of a sensitive object included)."""
    out: list[str] = []

    def leaves(v: Any) -> None:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (int, float)):
            out.append(json.dumps(v))
        elif isinstance(v, list):
            for x in v:
                leaves(x)
        elif isinstance(v, dict):
            for k, x in v.items():
                out.append(str(k))
                leaves(x)

    for v in values_at(data, sensitive_paths(schema)):
        leaves(v)
    return out


def safe_pointer(pointer: str, schema: Any) -> str:
    """A JSON pointer safe to show: cut at the first sensitive value it reaches; ``*`` segments shown as ``*``."""
    paths = sensitive_paths(schema)
    if any(len(p) == 0 for p in paths) or pointer == "":
        return ""
    segments = [_unescape(s) for s in pointer[1:].split("/")]
    for p in paths:
        if len(p) > len(segments):
            continue
        if all(w == ANY or w == segments[i] for i, w in enumerate(p)):
            return "/" + "/".join(ANY if w == ANY else _escape(segments[i]) for i, w in enumerate(p))
    return pointer


def secret_env_values(env: Mapping[str, str], listed: Iterable[str] = ()) -> list[str]:
    """Values of the variables that hold secrets: those listed and those whose names look secret."""
    listed = set(listed)
    return [
        value
        for name, value in env.items()
        if value and not name.startswith("PADDOCK_") and (name in listed or _SECRET_ENV_NAME.search(name))
    ]


class Scrubber:
    """Replaces known secret values in text and JSON-like data. Secrets are added as they become known."""

    def __init__(self) -> None:
        self._exact: set[str] = set()
        self._substrings: list[str] = []

    def add(self, values: Iterable[str]) -> None:
        before = len(self._exact)
        self._exact.update(v for v in values if v)
        if len(self._exact) != before:
            # Longest first, so a secret that contains another is replaced whole.
            self._substrings = sorted(
                (v for v in self._exact if len(v) >= MIN_SUBSTRING_SECRET), key=len, reverse=True
            )

    def text(self, s: str) -> str:
        if s in self._exact:
            return REDACTED
        for secret in self._substrings:
            if secret in s:
                s = s.replace(secret, REDACTED)
        return s

    def data(self, value: Any, _seen: set | None = None) -> Any:
        """A JSON-safe copy of ``value`` with secrets replaced in strings, keys and numbers."""
        seen = _seen if _seen is not None else set()
        if isinstance(value, str):
            return self.text(value)
        if value is None:
            return None
        if isinstance(value, bool):
            return REDACTED if ("true" if value else "false") in self._exact else value
        if isinstance(value, (int, float)):
            return REDACTED if json.dumps(value) in self._exact else value
        if isinstance(value, BaseException):
            return {"name": type(value).__name__, "message": self.text(str(value))}
        if isinstance(value, (list, tuple, dict)):
            if id(value) in seen:
                return "[Circular]"
            seen.add(id(value))
            try:
                if isinstance(value, dict):
                    return {self.text(str(k)): self.data(v, seen) for k, v in value.items()}
                return [self.data(v, seen) for v in value]
            finally:
                seen.discard(id(value))
        return self.text(str(value))
