"""A minimal JSON Schema check, standard library only (docs/agent-authors.md#writing-an-agent-with-the-sdk).

Checked: ``type`` (a name or a list; "integer" accepts 3 and 3.0, never booleans), ``enum``, ``const``,
``required``, ``properties``, ``additionalProperties`` (false or a schema), ``items`` (one schema),
``minLength``/``maxLength`` (in characters), ``minItems``/``maxItems``, ``minimum``/``maximum``,
``exclusiveMinimum``/``exclusiveMaximum`` (numbers, 2020-12 style).

NOT checked (the operator checks them, with ajv, when the step starts and ends): ``pattern``, ``format``,
``$ref``/``$defs``, ``allOf``/``anyOf``/``oneOf``/``not``, ``if``/``then``/``else``, ``patternProperties``,
``prefixItems``, ``contains``, ``uniqueItems``, ``multipleOf``, ``minProperties``/``maxProperties``,
``propertyNames``, ``dependentRequired``/``dependentSchemas``, ``unevaluated*``. A schema that uses them is
accepted; those parts are simply not checked here.

Problems name the field by JSON pointer and never quote the data.
"""

from __future__ import annotations

import json
from typing import Any

from ._sensitive import safe_pointer

CHECKED_KEYWORDS = (
    "type",
    "enum",
    "const",
    "required",
    "properties",
    "additionalProperties",
    "items",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
)


def _escape(segment: str) -> str:
    return segment.replace("~", "~0").replace("/", "~1")


def _is_type(value: Any, name: str) -> bool:
    if name == "null":
        return value is None
    if name == "boolean":
        return isinstance(value, bool)
    if name == "string":
        return isinstance(value, str)
    if name == "array":
        return isinstance(value, list)
    if name == "object":
        return isinstance(value, dict)
    if isinstance(value, bool):
        return False
    if name == "number":
        return isinstance(value, (int, float))
    if name == "integer":
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    return True  # an unknown type name: not this checker's business


def _json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _check(value: Any, schema: Any, pointer: str, out: list) -> None:
    if schema is False:
        out.append((pointer, "is not allowed"))
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind is not None:
        names = kind if isinstance(kind, list) else [kind]
        if not any(_is_type(value, n) for n in names if isinstance(n, str)):
            out.append((pointer, f"must be {' or '.join(str(n) for n in names)}"))
            return  # the other keywords would only repeat the problem
    if "enum" in schema and isinstance(schema["enum"], list):
        if not any(_json_equal(value, e) for e in schema["enum"]):
            # The allowed values come from the schema, not from the data.
            out.append((pointer, "must be one of: " + ", ".join(json.dumps(e) for e in schema["enum"])))
    if "const" in schema and not _json_equal(value, schema["const"]):
        out.append((pointer, f"must be {json.dumps(schema['const'])}"))
    if isinstance(value, str):
        if isinstance(schema.get("maxLength"), int) and len(value) > schema["maxLength"]:
            out.append((pointer, f"must NOT have more than {schema['maxLength']} characters"))
        if isinstance(schema.get("minLength"), int) and len(value) < schema["minLength"]:
            out.append((pointer, f"must NOT have fewer than {schema['minLength']} characters"))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        for key, ok, word in (
            ("minimum", lambda v, b: v >= b, ">="),
            ("maximum", lambda v, b: v <= b, "<="),
            ("exclusiveMinimum", lambda v, b: v > b, ">"),
            ("exclusiveMaximum", lambda v, b: v < b, "<"),
        ):
            bound = schema.get(key)
            if isinstance(bound, (int, float)) and not isinstance(bound, bool) and not ok(value, bound):
                out.append((pointer, f"must be {word} {json.dumps(bound)}"))
    if isinstance(value, list):
        if isinstance(schema.get("maxItems"), int) and len(value) > schema["maxItems"]:
            out.append((pointer, f"must NOT have more than {schema['maxItems']} items"))
        if isinstance(schema.get("minItems"), int) and len(value) < schema["minItems"]:
            out.append((pointer, f"must NOT have fewer than {schema['minItems']} items"))
        items = schema.get("items")
        if isinstance(items, (dict, bool)):
            for i, item in enumerate(value):
                _check(item, items, f"{pointer}/{i}", out)
    if isinstance(value, dict):
        required = schema.get("required")
        if isinstance(required, list):
            for name in required:
                if isinstance(name, str) and name not in value:
                    out.append((f"{pointer}/{_escape(name)}", "is required"))
        props = schema.get("properties") if isinstance(schema.get("properties"), dict) else {}
        additional = schema.get("additionalProperties", True)
        for key, item in value.items():
            child = f"{pointer}/{_escape(str(key))}"
            if key in props:
                _check(item, props[key], child, out)
            elif additional is False:
                out.append((child, "is not a known field"))
            elif isinstance(additional, dict):
                _check(item, additional, child, out)


def check(value: Any, schema: Any) -> list[tuple[str, str]]:
    """Problems of ``value`` against ``schema`` as (JSON pointer, message), pointers cut at sensitive values."""
    out: list[tuple[str, str]] = []
    _check(value, schema, "", out)
    seen: set = set()
    result = []
    for pointer, message in out:
        item = (safe_pointer(pointer, schema), message)
        if item not in seen:
            seen.add(item)
            result.append(item)
    return result


def describe(problems: list[tuple[str, str]], limit: int = 3) -> str:
    """ "at /a: is required; at /b: must be integer" (at most ``limit``, then "and N more")."""
    shown = "; ".join(f"at {p or '/'}: {m}" for p, m in problems[:limit])
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return shown + more
