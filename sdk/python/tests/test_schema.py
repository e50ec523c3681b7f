"""The minimal JSON Schema check and the sensitive-value helpers."""

import unittest

from paddock_agent._schema import check
from paddock_agent._sensitive import REDACTED, Scrubber, safe_pointer, secret_env_values, sensitive_paths, sensitive_strings

S = {"x-paddock-sensitive": True}


class SchemaTest(unittest.TestCase):
    def test_types(self):
        self.assertEqual(check(3, {"type": "integer"}), [])
        self.assertEqual(check(3.0, {"type": "integer"}), [])
        self.assertEqual(check(True, {"type": "integer"}), [("", "must be integer")])
        self.assertEqual(check(None, {"type": ["string", "null"]}), [])
        self.assertEqual(check("x", {"type": "number"}), [("", "must be number")])

    def test_enum_const_lengths_items_bounds(self):
        schema = {
            "type": "object",
            "properties": {
                "sev": {"enum": ["low", "high"]},
                "c": {"const": 1},
                "s": {"type": "string", "maxLength": 3, "minLength": 1},
                "l": {"type": "array", "maxItems": 2, "items": {"type": "integer", "minimum": 0, "exclusiveMaximum": 5}},
            },
        }
        good = {"sev": "low", "c": 1.0, "s": "abc", "l": [0, 4]}
        self.assertEqual(check(good, schema), [])
        bad = {"sev": "mid", "c": True, "s": "abcd", "l": [-1, 5, 1]}
        self.assertEqual(
            check(bad, schema),
            [
                ("/sev", 'must be one of: "low", "high"'),
                ("/c", "must be 1"),
                ("/s", "must NOT have more than 3 characters"),
                ("/l", "must NOT have more than 2 items"),
                ("/l/0", "must be >= 0"),
                ("/l/1", "must be < 5"),
            ],
        )

    def test_required_and_additional_properties(self):
        schema = {"required": ["a"], "properties": {"a": {}}, "additionalProperties": {"type": "string"}}
        self.assertEqual(check({"b": 1}, schema), [("/a", "is required"), ("/b", "must be string")])
        self.assertEqual(check({"a/b": 1}, {"additionalProperties": False}), [("/a~1b", "is not a known field")])

    def test_keywords_it_does_not_check_are_ignored_not_refused(self):
        self.assertEqual(check("x", {"type": "string", "pattern": "^y$", "format": "email"}), [])

    def test_pointers_stop_at_sensitive_values(self):
        schema = {"properties": {"creds": {**S, "type": "object", "properties": {"pw": {"type": "string"}}}}}
        self.assertEqual(check({"creds": {"pw": 5}}, schema), [("/creds", "must be string")])


class SensitiveTest(unittest.TestCase):
    def test_paths_follow_properties_items_additional_allof_and_refs(self):
        schema = {
            "$defs": {"cred": {"properties": {"key": S}}},
            "properties": {
                "a": S,
                "list": {"items": {"properties": {"m": S}}},
                "map": {"additionalProperties": S},
                "both": {"allOf": [{"properties": {"x": S}}]},
                "ref": {"$ref": "#/$defs/cred"},
                "plain": {},
            },
        }
        self.assertEqual(
            sorted("/" + "/".join(p) for p in sensitive_paths(schema)),
            sorted(["/a", "/both/x", "/list/*/m", "/map/*", "/ref/key"]),
        )

    def test_values_keys_of_sensitive_objects_included(self):
        schema = {"properties": {"list": {"items": {"properties": {"m": S}}}, "obj": S}}
        data = {"list": [{"m": "one"}, {"m": 2}, {"o": "x"}], "obj": {"k1": "v1"}, "free": "free"}
        self.assertEqual(sorted(sensitive_strings(data, schema)), ["2", "k1", "one", "v1"])

    def test_safe_pointer(self):
        schema = {"properties": {"creds": S, "list": {"items": {"properties": {"m": S}}}}}
        self.assertEqual(safe_pointer("/creds/pw", schema), "/creds")
        self.assertEqual(safe_pointer("/list/3/m/x", schema), "/list/*/m")
        self.assertEqual(safe_pointer("/other", schema), "/other")

    def test_scrubber(self):
        s = Scrubber()
        s.add(["abc", "secret-1", "secret-1-long"])
        self.assertEqual(s.text("a secret-1-long and secret-1"), f"a {REDACTED} and {REDACTED}")
        self.assertEqual(s.text("abc"), REDACTED)
        self.assertEqual(s.text("abcdef"), "abcdef")
        self.assertEqual(s.data({"secret-1": ["secret-1", "ok", 7]}), {REDACTED: [REDACTED, "ok", 7]})
        loop = []
        loop.append(loop)
        self.assertEqual(s.data({"e": ValueError("bad secret-1"), "l": loop}), {"e": {"name": "ValueError", "message": f"bad {REDACTED}"}, "l": ["[Circular]"]})

    def test_secret_env_values(self):
        env = {"GITHUB_TOKEN": "t1", "DB_PASSWORD": "p1", "LISTED": "l1", "HOME": "/tmp", "PADDOCK_INPUTS": "{}", "EMPTY_TOKEN": ""}
        self.assertEqual(sorted(secret_env_values(env, ["LISTED"])), ["l1", "p1", "t1"])


if __name__ == "__main__":
    unittest.main()
