"""The Python agent SDK in one process: inputs, schemas, exit codes, the 4096-byte limit and redaction."""

import json
import os
import shutil
import tempfile
import unittest

from paddock_agent import (
    EXIT_FAILED,
    EXIT_INVALID_INPUTS,
    EXIT_INVALID_OUTPUTS,
    EXIT_OK,
    EXIT_OUTPUTS_TOO_LARGE,
    MAX_OUTPUTS_BYTES,
    AgentFailure,
    agent,
    define_agent,
    execute_agent,
)

TOKEN = "tok-3f9a1c77e2"
ENV_SECRET = "env-secret-5d1b22"
INPUTS_SCHEMA = {
    "type": "object",
    "required": ["repo"],
    "additionalProperties": False,
    "properties": {
        "repo": {"type": "string"},
        "token": {"type": "string", "x-paddock-sensitive": True},
        "credentials": {
            "type": "object",
            "x-paddock-sensitive": True,
            "properties": {"user": {"type": "string"}, "password": {"type": "string"}},
        },
        "limit": {"type": "integer", "maximum": 10},
    },
}
OUTPUTS_SCHEMA = {
    "type": "object",
    "required": ["summary"],
    "properties": {"summary": {"type": "string"}, "count": {"type": "integer", "minimum": 0}},
}


class RunTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="paddock-sdk-py-")
        self.logs = []

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def env(self, inputs, **extra):
        return {
            "PADDOCK_INPUTS": json.dumps(inputs),
            "PADDOCK_OUTPUTS_FILE": os.path.join(self.dir, "termination-log"),
            "PADDOCK_WORKFLOW": "wf",
            "PADDOCK_STEP": "scan",
            "PADDOCK_ATTEMPT": "2",
            **extra,
        }

    def run_agent(self, defn, env):
        result = execute_agent(defn, env, write_log=self.logs.append)
        with open(os.path.join(self.dir, "termination-log"), encoding="utf-8") as f:
            written = f.read()
        return result, written, "".join(self.logs)

    def simple(self, body):
        return define_agent("test", lambda inputs, ctx: body(inputs), INPUTS_SCHEMA, OUTPUTS_SCHEMA)

    # success

    def test_writes_compact_outputs_and_exits_0_with_the_pod_identity(self):
        seen = {}

        @agent(name="ctx")
        def run(inputs, ctx):
            seen.update(workflow=ctx.workflow, step=ctx.step, attempt=ctx.attempt, tmp=ctx.tmp_dir)
            return {"summary": "ok", "count": 2}

        result, written, _ = self.run_agent(run, self.env({}, TMPDIR=self.dir))
        self.assertEqual(result.exit_code, EXIT_OK)
        self.assertEqual(written, '{"summary":"ok","count":2}')
        self.assertEqual(seen, {"workflow": "wf", "step": "scan", "attempt": 2, "tmp": self.dir})

    def test_tmp_dir_is_tmp_in_a_pod_and_none_means_empty_outputs(self):
        seen = {}
        result, written, _ = self.run_agent(define_agent("n", lambda i, ctx: seen.update(tmp=ctx.tmp_dir)), self.env({}))
        self.assertEqual((result.exit_code, written, seen["tmp"]), (0, "{}", "/tmp"))

    def test_async_run_functions_are_awaited(self):
        @agent(name="a")
        async def run(inputs, ctx):
            return {"summary": "async"}

        result, written, _ = self.run_agent(run, self.env({}))
        self.assertEqual((result.exit_code, written), (0, '{"summary":"async"}'))

    # inputs

    def test_inputs_from_the_file_when_the_variable_is_absent(self):
        path = os.path.join(self.dir, "inputs.json")
        with open(path, "w") as f:
            f.write('{"repo": "from-file"}')
        got = {}
        env = self.env({})
        del env["PADDOCK_INPUTS"]
        env["PADDOCK_INPUTS_FILE"] = path
        result, _, _ = self.run_agent(define_agent("f", lambda i, ctx: got.update(i)), env)
        self.assertEqual((result.exit_code, got), (0, {"repo": "from-file"}))

    def test_the_variable_wins_over_the_file(self):
        path = os.path.join(self.dir, "inputs.json")
        with open(path, "w") as f:
            f.write('{"repo": "file"}')
        got = {}
        result, _, _ = self.run_agent(
            define_agent("f", lambda i, ctx: got.update(i)), self.env({"repo": "env"}, PADDOCK_INPUTS_FILE=path)
        )
        self.assertEqual(got, {"repo": "env"})

    def test_no_inputs_at_all_exit_2_naming_both_sources(self):
        env = self.env({})
        del env["PADDOCK_INPUTS"]
        result, written, _ = self.run_agent(self.simple(lambda i: {"summary": "x"}), env)
        self.assertEqual(result.exit_code, EXIT_INVALID_INPUTS)
        self.assertIn("neither $PADDOCK_INPUTS nor $PADDOCK_INPUTS_FILE is set", written)

    def test_unreadable_inputs_file_names_the_path_and_the_error(self):
        env = self.env({})
        del env["PADDOCK_INPUTS"]
        missing = os.path.join(self.dir, "nope.json")
        env["PADDOCK_INPUTS_FILE"] = missing
        result, written, _ = self.run_agent(self.simple(lambda i: {"summary": "x"}), env)
        self.assertEqual(result.exit_code, 2)
        self.assertEqual(
            written, f"no inputs: $PADDOCK_INPUTS is not set and $PADDOCK_INPUTS_FILE ({missing}) cannot be read (ENOENT)"
        )

    def test_invalid_json_exits_2_without_quoting_it(self):
        env = self.env({}, PADDOCK_INPUTS='{"repo": "r", "token": "%s" oops}' % TOKEN)
        result, written, logs = self.run_agent(self.simple(lambda i: {"summary": "x"}), env)
        self.assertEqual(result.exit_code, 2)
        self.assertRegex(written, r"^\$PADDOCK_INPUTS is not valid JSON \(\d+ bytes")
        self.assertNotIn(TOKEN, written + logs)

    def test_schema_invalid_inputs_exit_2_with_the_pointer_and_run_is_not_called(self):
        called = []
        result, written, _ = self.run_agent(
            self.simple(lambda i: called.append(1) or {"summary": "x"}), self.env({"repo": "r", "limit": 11})
        )
        self.assertEqual(result.exit_code, EXIT_INVALID_INPUTS)
        self.assertEqual(written, "inputs do not match inputs_schema at /limit: must be <= 10")
        self.assertEqual(called, [])

    def test_missing_and_unknown_fields_are_named(self):
        result, written, _ = self.run_agent(self.simple(lambda i: {}), self.env({"rpeo": "r"}))
        self.assertEqual(result.exit_code, 2)
        self.assertIn("at /repo: is required", written)
        self.assertIn("at /rpeo: is not a known field", written)

    def test_a_sensitive_input_is_never_shown_even_when_it_is_the_invalid_one(self):
        result, written, logs = self.run_agent(
            self.simple(lambda i: {}), self.env({"repo": "r", "credentials": {"user": "admin-user", "password": 42}})
        )
        self.assertEqual(result.exit_code, 2)
        self.assertEqual(written, "inputs do not match inputs_schema at /credentials: must be string")
        self.assertNotIn("admin-user", logs)

    # outputs

    def outputs_of_bytes(self, size):
        frame = len('{"summary":""}'.encode())
        body = size - frame
        out = {"summary": "é" * (body // 2) + "a" * (body % 2)}
        self.assertEqual(len(json.dumps(out, separators=(",", ":"), ensure_ascii=False).encode()), size)
        return out

    def test_exactly_4096_bytes_pass_and_are_written_whole(self):
        out = self.outputs_of_bytes(MAX_OUTPUTS_BYTES)
        result, written, _ = self.run_agent(self.simple(lambda i: out), self.env({"repo": "r"}))
        self.assertEqual(result.exit_code, EXIT_OK)
        self.assertEqual(len(written.encode("utf-8")), 4096)
        self.assertEqual(json.loads(written), out)

    def test_4097_bytes_exit_4_naming_both_sizes_and_nothing_is_written_as_outputs(self):
        result, written, _ = self.run_agent(self.simple(lambda i: self.outputs_of_bytes(4097)), self.env({"repo": "r"}))
        self.assertEqual(result.exit_code, EXIT_OUTPUTS_TOO_LARGE)
        self.assertIn("4097 bytes", written)
        self.assertIn("4096-byte limit", written)
        self.assertNotIn("éé", written)

    def test_schema_invalid_outputs_exit_3(self):
        result, written, _ = self.run_agent(self.simple(lambda i: {"summary": "x", "count": -1}), self.env({"repo": "r"}))
        self.assertEqual(result.exit_code, EXIT_INVALID_OUTPUTS)
        self.assertEqual(written, "outputs do not match outputs_schema at /count: must be >= 0")

    def test_outputs_that_are_not_a_json_object_exit_3(self):
        for value, why in (([1, 2], "not list"), ({"x": float("nan")}, "cannot be turned into JSON"), ({"x": {1, 2}}, "cannot be turned into JSON")):
            self.logs.clear()
            result, written, _ = self.run_agent(define_agent("o", lambda i, ctx, v=value: v), self.env({}))
            self.assertEqual(result.exit_code, 3, value)
            self.assertIn(why, written)

    # failures

    def test_agent_failure_exits_1_with_its_message(self):
        def boom(i):
            raise AgentFailure("git clone failed: repository not found")

        result, written, _ = self.run_agent(self.simple(boom), self.env({"repo": "r"}))
        self.assertEqual((result.exit_code, written), (EXIT_FAILED, "git clone failed: repository not found"))

    def test_agent_failure_may_choose_its_exit_code(self):
        self.assertEqual(AgentFailure("x", exit_code=9).exit_code, 9)
        self.assertEqual(AgentFailure("x", exit_code=0).exit_code, 1)
        self.assertEqual(AgentFailure("x", exit_code=300).exit_code, 1)

    def test_an_uncaught_exception_exits_1_with_its_class(self):
        def boom(i):
            raise ValueError("index out of range")

        result, written, _ = self.run_agent(self.simple(boom), self.env({"repo": "r"}))
        self.assertEqual((result.exit_code, written), (1, "uncaught ValueError: index out of range"))

    def test_a_long_reason_is_one_line_of_at_most_512_characters(self):
        def boom(i):
            raise AgentFailure("first line\n" + "y" * 2000)

        _, written, _ = self.run_agent(self.simple(boom), self.env({"repo": "r"}))
        self.assertEqual(len(written), 512)
        self.assertNotIn("\n", written)
        self.assertTrue(written.startswith("first line y"))

    # sensitive values

    def test_sensitive_values_never_reach_logs_or_the_termination_file(self):
        password = "pw-77aa90bcd"

        def careless(i):
            raise AgentFailure(f"login {i['token']} / {json.dumps(i['credentials'])} with {ENV_SECRET} failed")

        result, written, logs = self.run_agent(
            self.simple(careless),
            self.env({"repo": "r", "token": TOKEN, "credentials": {"user": "u-bob", "password": password}}, GITHUB_TOKEN=ENV_SECRET),
        )
        self.assertEqual(result.exit_code, 1)
        for secret in (TOKEN, password, ENV_SECRET, "u-bob"):
            self.assertNotIn(secret, written)
            self.assertNotIn(secret, logs)
        self.assertIn("[REDACTED]", written)

    def test_the_logger_redacts_wherever_a_secret_appears(self):
        listed = "listed-secret-value"

        @agent(name="logs", inputs_schema=INPUTS_SCHEMA, secret_env=["PLAIN_NAMED"])
        def run(inputs, ctx):
            ctx.log.info(f"using token {inputs['token']}", inputs=inputs, env=listed)
            ctx.log.warn("nested", deep={"list": [inputs["token"]], inputs["token"]: 1})
            return {}

        result, _, logs = self.run_agent(run, self.env({"repo": "r", "token": TOKEN}, PLAIN_NAMED=listed))
        self.assertEqual(result.exit_code, 0)
        self.assertNotIn(TOKEN, logs)
        self.assertNotIn(listed, logs)
        first = json.loads(logs.splitlines()[0])
        self.assertEqual(first["msg"], "using token [REDACTED]")
        self.assertEqual(first["inputs"], {"repo": "r", "token": "[REDACTED]"})
        self.assertEqual((first["level"], first["agent"], first["step"], first["attempt"]), ("info", "logs", "scan", 2))

    def test_lines_below_log_level_are_dropped(self):
        @agent(name="lvl")
        def run(inputs, ctx):
            ctx.log.debug("hidden")
            ctx.log.warn("shown")
            return {}

        self.run_agent(run, self.env({}, LOG_LEVEL="warn"))
        self.assertNotIn("hidden", "".join(self.logs))
        self.assertIn("shown", "".join(self.logs))


if __name__ == "__main__":
    unittest.main()
