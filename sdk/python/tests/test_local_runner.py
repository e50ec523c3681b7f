"""The local runner end to end: python3 -m paddock_agent.run <module:function> --inputs <file>, on the
fixture agent in tests/fixtures/echo_agent.py."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SDK = os.path.dirname(HERE)
FIXTURES = os.path.join(HERE, "fixtures")
TOKEN = "tok-ab12cd34ef"


class LocalRunnerTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="paddock-runner-py-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def runner(self, target, inputs, *args):
        path = os.path.join(self.dir, "inputs.json")
        with open(path, "w") as f:
            json.dump(inputs, f, indent=2)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": f"{SDK}{os.pathsep}{FIXTURES}", "PYTHONDONTWRITEBYTECODE": "1", "CALLER_ONLY": "must-not-leak"}
        return subprocess.run(
            [sys.executable, "-m", "paddock_agent.run", target, "--inputs", path, *args],
            env=env, capture_output=True, text=True, cwd=self.dir,
        )

    def test_success_prints_outputs_and_exits_0(self):
        r = self.runner("echo_agent:echo", {"mode": "ok", "who": "ada"})
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"greeting": "hello ada"})
        self.assertIn("agent exited 0; outputs: 24 bytes", r.stderr)
        self.assertIn('"msg":"started"', r.stderr)

    def test_the_agent_gets_a_pod_environment(self):
        out = os.path.join(self.dir, "out.json")
        r = self.runner("echo_agent:echo", {"mode": "env"}, "--env", "GREETING=bonjour", "--step", "scan", "--attempt", "3", "--outputs", out)
        self.assertEqual(r.returncode, 0, r.stderr)
        with open(out) as f:
            outputs = json.load(f)
        self.assertEqual(outputs["greeting"], "bonjour")
        self.assertEqual(outputs["step"], "local/scan/3")
        self.assertIn("paddock-agent-", outputs["tmp"])
        self.assertEqual(outputs["caller"], "absent")

    def test_failure_code_and_reason_with_secrets_redacted(self):
        r = self.runner("echo_agent:echo", {"mode": "fail", "token": TOKEN})
        self.assertEqual(r.returncode, 7)
        self.assertEqual(r.stdout, "")
        self.assertIn("agent exited 7: cannot log in with [REDACTED]", r.stderr)
        self.assertNotIn(TOKEN, r.stderr)

    def test_uncaught_exception_exits_1(self):
        r = self.runner("echo_agent:echo", {"mode": "throw", "token": TOKEN})
        self.assertEqual(r.returncode, 1)
        self.assertIn("agent exited 1: uncaught KeyError:", r.stderr)
        self.assertNotIn(TOKEN, r.stderr)

    def test_invalid_inputs_exit_2(self):
        r = self.runner("echo_agent:echo", {"mode": "ok", "who": 5})
        self.assertEqual(r.returncode, 2)
        self.assertIn("at /who: must be string", r.stderr)

    def test_too_large_outputs_exit_4(self):
        r = self.runner("echo_agent:echo", {"mode": "big", "size": 5000})
        self.assertEqual(r.returncode, 4)
        self.assertIn("outputs are 5015 bytes of JSON, over the 4096-byte limit", r.stderr)

    def test_async_agent(self):
        r = self.runner("echo_agent:echo_async", {"who": "bo"})
        self.assertEqual((r.returncode, json.loads(r.stdout)), (0, {"greeting": "async bo"}))

    def test_the_documented_example(self):
        # docs/agent-authors.md: PYTHONPATH=sdk/python:sdk/python/examples python3 -m paddock_agent.run hello:hello ...
        root = os.path.dirname(os.path.dirname(SDK))
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONPATH": "sdk/python:sdk/python/examples", "PYTHONDONTWRITEBYTECODE": "1"}
        r = subprocess.run(
            [sys.executable, "-m", "paddock_agent.run", "hello:hello", "--inputs", "sdk/examples/hello-inputs.json"],
            env=env, capture_output=True, text=True, cwd=root,
        )
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(json.loads(r.stdout), {"greeting": "Hello, Ada!", "length": 11})
        self.assertIn('"apiToken":"[REDACTED]"', r.stderr)
        self.assertNotIn("tok-not-a-real-secret", r.stderr)

    def test_usage_errors_exit_64(self):
        r = self.runner("echo_agent:nothing", {})
        self.assertEqual(r.returncode, 64)
        self.assertIn("has no attribute 'nothing'", r.stderr)
        r = self.runner("echo_agent:echo", {}, "--env", "PADDOCK_STEP=x")
        self.assertEqual(r.returncode, 64)
        self.assertIn("PADDOCK_", r.stderr)



class SignalTest(unittest.TestCase):
    """An agent stopped by a signal (its pod deleted, cancelled or timed out): the agent itself, as its container
    runs it, with a pod's environment and no runner in between."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="paddock-signal-py-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def stop_with(self, signum, expected_code, name):
        out = os.path.join(self.dir, f"outputs-{name}")
        env = {
            "PATH": os.environ.get("PATH", ""),
            "PYTHONPATH": f"{SDK}{os.pathsep}{FIXTURES}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "PADDOCK_INPUTS": json.dumps({"mode": "hang"}),
            "PADDOCK_OUTPUTS_FILE": out,
        }
        child = subprocess.Popen(
            [sys.executable, os.path.join(FIXTURES, "echo_agent.py")],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=self.dir,
        )
        seen = ""
        while '"msg":"started"' not in seen:
            line = child.stderr.readline()
            self.assertNotEqual(line, "", "the agent ended before it started")
            seen += line
        # Twice, as an impatient kubelet or user might: the second must change nothing.
        child.send_signal(signum)
        child.send_signal(signum)
        code = child.wait(timeout=30)
        rest = child.stderr.read()
        child.stderr.close()
        self.assertEqual(code, expected_code, seen + rest)
        with open(out) as f:
            self.assertEqual(f.read(), f"stopped by {name} before it finished (the pod was deleted, cancelled or timed out)")

    def test_sigterm_exits_143_at_once_with_the_reason(self):
        self.stop_with(signal.SIGTERM, 143, "SIGTERM")

    def test_sigint_exits_130_at_once_with_the_reason(self):
        self.stop_with(signal.SIGINT, 130, "SIGINT")


if __name__ == "__main__":
    unittest.main()
