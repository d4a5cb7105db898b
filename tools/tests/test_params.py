"""`make params` (tools/params.py) against a real moto server: every parameter written with
its type, SecureStrings decryptable, values never printed, missing values named."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import tempfile
import unittest
from pathlib import Path

import boto3
from moto.server import ThreadedMotoServer

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))

import params  # noqa: E402

SECRET = "s3cr3t-value-that-must-not-leak"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ParamsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request lines
        port = free_port()
        cls.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        cls.server.start()
        cls.env = {
            **os.environ,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "AWS_DEFAULT_REGION": "ap-southeast-1",
        }
        cls.ssm = boto3.client("ssm", endpoint_url=cls.env["AWS_ENDPOINT_URL"],
                               region_name="ap-southeast-1", aws_access_key_id="test",
                               aws_secret_access_key="test")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.stop()

    def run_params(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(ROOT / "tools" / "params.py"), *args],
                              env=env or self.env, capture_output=True, text=True,
                              stdin=subprocess.DEVNULL)

    def values_file(self, lines: list[str]) -> Path:
        file = Path(tempfile.mkstemp(suffix=".env")[1])
        self.addCleanup(file.unlink)
        file.write_text("\n".join(lines) + "\n")
        return file

    def all_values(self) -> list[str]:
        return [f"{p.name}={SECRET if p.secure else 'value-of-' + p.name}"
                for p in params.PARAMS if p.default is None]

    def test_every_parameter_is_written_with_its_type_and_no_value_is_printed(self):
        result = self.run_params("--stage", "qa", "--values", str(self.values_file(self.all_values())))
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertNotIn(SECRET, result.stdout + result.stderr)
        for param in params.PARAMS:
            name = f"/orabridge/qa/{param.name}"
            stored = self.ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
            self.assertEqual(stored["Type"], "SecureString" if param.secure else "String", name)
            expected = SECRET if param.secure else (param.default or f"value-of-{param.name}")
            self.assertEqual(stored["Value"], expected, name)
        encrypted = self.ssm.get_parameter(Name="/orabridge/qa/proxy/internal-key")["Parameter"]
        self.assertNotEqual(encrypted["Value"], SECRET, "stored encrypted")

    def test_environment_variables_supply_values_and_rerunning_overwrites(self):
        env = {**self.env, "ORABRIDGE_PARAM_PROXY_UPSTREAMS": "https://a,https://b",
               "ORABRIDGE_PARAM_PROXY_INTERNAL_KEY": SECRET}
        for upstreams in ("https://a,https://b", "https://c"):
            env["ORABRIDGE_PARAM_PROXY_UPSTREAMS"] = upstreams
            result = self.run_params("--stage", "env", "--only", "proxy", env=env)
            self.assertEqual(result.returncode, 0, result.stderr)
            stored = self.ssm.get_parameter(Name="/orabridge/env/proxy/upstreams")["Parameter"]
            self.assertEqual(stored["Value"], upstreams)
        self.assertIn("wrote /orabridge/env/proxy/internal-key (SecureString)", result.stdout)
        self.assertNotIn(SECRET, result.stdout + result.stderr)

    def test_missing_values_are_named_and_nothing_is_written(self):
        result = self.run_params("--stage", "bare", "--only", "proxy,finance-closing")
        self.assertEqual(result.returncode, 1)
        self.assertIn("proxy/internal-key", result.stderr)
        self.assertIn("ORABRIDGE_PARAM_FINANCE_CLOSING_RESTATE_TOKEN", result.stderr)
        names = self.ssm.get_parameters_by_path(Path="/orabridge/bare", Recursive=True)["Parameters"]
        self.assertEqual(names, [])

    def test_an_unknown_name_in_the_values_file_is_refused(self):
        result = self.run_params("--values", str(self.values_file(["proxy/upstream=https://typo"])))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("unknown parameter(s): proxy/upstream", result.stderr)

    def test_an_unreachable_ssm_names_the_parameter_not_the_value(self):
        env = {**self.env, "AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}",
               "AWS_MAX_ATTEMPTS": "1", "ORABRIDGE_PARAM_PROXY_UPSTREAMS": "https://a",
               "ORABRIDGE_PARAM_PROXY_INTERNAL_KEY": SECRET}
        result = self.run_params("--only", "proxy", env=env)
        self.assertEqual(result.returncode, 1)
        self.assertIn("writing /orabridge/dev/proxy/upstreams failed", result.stderr)
        self.assertNotIn(SECRET, result.stdout + result.stderr)


if __name__ == "__main__":
    unittest.main()
