"""The Instant Client layer build, on synthetic zips laid out like Oracle's (symlinks included).

Run with the other Python checks by `make test`, or alone:
`.venv/bin/python -m unittest discover -s tools/tests -t .`
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import unittest
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "layers" / "oracle-instantclient"))
sys.path.insert(0, str(ROOT / "tools"))

import build_layer  # noqa: E402
from synthetic_instantclient import AARCH64, X86_64, fake_library, oracle_like_tree, zip_tree  # noqa: E402

def run(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = build_layer.main(list(args))
    return code, out.getvalue(), err.getvalue()


class LayerBuildTest(unittest.TestCase):
    def setUp(self) -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="orabridge-layer-"))
        self.addCleanup(lambda: subprocess.run(["rm", "-rf", str(self.tmp)], check=True))
        self.libaio = self.tmp / "libaio.so.1.0.2"
        fake_library(self.libaio, AARCH64)
        os.symlink(self.libaio.name, self.tmp / "libaio.so.1")

    def build(self, zip_path: Path, *extra: str) -> tuple[int, str, str]:
        return run("--zip", str(zip_path), "--libaio", str(self.tmp / "libaio.so.1"),
                   "--out", str(self.tmp / "layer"), *extra)

    def test_an_oracle_like_zip_becomes_a_flat_layer_of_real_files_that_passes_its_check(self):
        home = oracle_like_tree(self.tmp / "src")
        self.assertTrue((home / "libclntsh.so").is_symlink(), "the fixture has real symlinks")
        code, out, err = self.build(zip_tree(home, self.tmp / "ic.zip"))
        self.assertEqual(code, 0, err)
        self.assertIn("passes (arm64", out)
        lib = self.tmp / "layer" / "lib"
        self.assertEqual(
            sorted(p.name for p in lib.iterdir()),
            ["libaio.so.1", "libclntsh.so", "libclntsh.so.18.1", "libclntsh.so.19.1",
             "libclntshcore.so", "libclntshcore.so.19.1", "libnnz19.so", "libocci.so",
             "libocci.so.19.1", "libociicus.so", "libtfojdbc1.so"],
        )
        self.assertEqual([p for p in (self.tmp / "layer").rglob("*") if p.is_symlink()], [])
        self.assertEqual((lib / "libclntsh.so").read_bytes(), (home / "libclntsh.so.19.1").read_bytes(),
                         "the link became a copy of its target, not the target's name")
        self.assertEqual((lib / "libaio.so.1").read_bytes(), self.libaio.read_bytes())
        self.assertEqual(build_layer.check(self.tmp / "layer", "arm64"), [])
        self.assertNotIn("warning", err, "19.x reaches 11.2: nothing to warn about")

    def test_a_client_newer_than_19_builds_but_warns_which_databases_it_cannot_reach(self):
        # Instant Client 23 connects to 19c and later only (Oracle Doc ID 207303.1).
        home = oracle_like_tree(self.tmp / "src", major=23)
        code, out, err = self.build(zip_tree(home, self.tmp / "ic23.zip"))
        self.assertEqual(code, 0, err)
        self.assertIn("warning: Instant Client 23 connects only to Oracle Database 19c", err)
        self.assertIn("needs Instant Client 19.x", err)
        self.assertEqual(build_layer.client_major_version(["libclntsh.so.19.1", "libclntsh.so.23.1"]), 23)
        self.assertIsNone(build_layer.client_major_version(["libclntsh.so"]))

    def test_a_ca_bundle_lands_where_the_template_points_pg_sslrootcert(self):
        home = oracle_like_tree(self.tmp / "src")
        bundle = self.tmp / "global-bundle.pem"
        bundle.write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
        code, _, err = self.build(zip_tree(home, self.tmp / "ic.zip"), "--ca-bundle", str(bundle))
        self.assertEqual(code, 0, err)
        self.assertEqual((self.tmp / "layer" / "certs" / "postgres-root.pem").read_text(),
                         bundle.read_text())
        template = (ROOT / "template.yaml").read_text()
        self.assertIn("Default: /opt/" + str(build_layer.CA_BUNDLE_PATH), template)
        not_pem = self.tmp / "not.pem"
        not_pem.write_text("hello")
        code, _, err = self.build(zip_tree(home, self.tmp / "ic.zip"), "--ca-bundle", str(not_pem))
        self.assertEqual(code, 2)
        self.assertIn("holds no PEM certificate", err)

    def test_a_zip_without_libclntsh_fails_the_check_and_says_what_is_missing(self):
        home = oracle_like_tree(self.tmp / "src", with_clntsh=False)
        code, _, err = self.build(zip_tree(home, self.tmp / "ic.zip"))
        self.assertEqual(code, 1)
        self.assertIn("missing libclntsh.so", err)

    def test_libraries_for_another_architecture_fail_the_check_naming_each(self):
        home = oracle_like_tree(self.tmp / "src", machine=X86_64)
        code, _, err = self.build(zip_tree(home, self.tmp / "ic.zip"))
        self.assertEqual(code, 1)
        self.assertIn("libclntsh.so.19.1 is built for x86_64, not arm64", err)
        self.assertNotIn("libaio.so.1 is built", err, "libaio was given for arm64")
        code, _, err = self.build(self.tmp / "ic.zip", "--arch", "x86_64")
        self.assertEqual(code, 1, "and the other way round, libaio is the odd one")
        self.assertIn("libaio.so.1 is built for arm64, not x86_64", err)

    def test_no_zip_fails_with_where_to_download_it_and_what_to_pass(self):
        code, _, err = run("--out", str(self.tmp / "layer"))
        self.assertEqual(code, 2)
        self.assertIn("oracle.com/database/technologies/instant-client", err)
        self.assertIn("make layer IC_ZIP=", err)
        code, _, err = self.build(self.tmp / "absent.zip")
        self.assertEqual(code, 2)
        self.assertIn("Instant Client zip not found", err)

    def test_a_missing_libaio_stops_the_build_with_how_to_get_it(self):
        home = oracle_like_tree(self.tmp / "src")
        zip_path = zip_tree(home, self.tmp / "ic.zip")
        code, _, err = run("--zip", str(zip_path), "--out", str(self.tmp / "layer"))
        self.assertEqual(code, 2)
        self.assertIn("libaio.so.1 is needed", err)
        self.assertIn("LIBAIO=", err)

    def test_a_layer_over_lambdas_size_limit_fails_the_check(self):
        home = oracle_like_tree(self.tmp / "src")
        self.assertEqual(self.build(zip_tree(home, self.tmp / "ic.zip"))[0], 0)
        big = self.tmp / "layer" / "lib" / "libbig.so"
        fake_library(big, AARCH64)
        os.truncate(big, 251 * 1024 * 1024)  # sparse: no disk used
        problems = build_layer.check(self.tmp / "layer", "arm64")
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("over Lambda's limit", problems[0])

    def test_a_symlink_in_a_built_layer_fails_the_check(self):
        home = oracle_like_tree(self.tmp / "src")
        self.assertEqual(self.build(zip_tree(home, self.tmp / "ic.zip"))[0], 0)
        os.symlink("libnnz.so", self.tmp / "layer" / "lib" / "libnnz-link.so")
        self.assertIn("lib/libnnz-link.so is a symlink; layers need real files",
                      build_layer.check(self.tmp / "layer", "arm64"))

    def test_sam_builds_the_layer_through_its_makefile(self):
        home = oracle_like_tree(self.tmp / "src")
        zip_path = zip_tree(home, self.tmp / "ic.zip")
        artifacts = self.tmp / "artifacts"
        result = subprocess.run(
            ["make", "--no-print-directory", "-C", str(ROOT / "layers" / "oracle-instantclient"),
             "build-OracleInstantClientLayer", f"IC_ZIP={zip_path}",
             f"LIBAIO={self.tmp / 'libaio.so.1'}", f"ARTIFACTS_DIR={artifacts}",
             f"PYTHON={sys.executable}"],
            capture_output=True, text=True,
        )
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue((artifacts / "lib" / "libclntsh.so").is_file())


class BuildArchitectureTest(unittest.TestCase):
    """The functions and the layer are built for one architecture, the one the stage deploys."""

    def test_every_default_names_the_templates_architecture(self):
        import re
        template = (ROOT / "template.yaml").read_text()
        default = re.search(r"\n  Architecture:\n(?:    .*\n)*?    Default: (\S+)", template).group(1)
        build_arch = re.search(r"BuildArchitecture: (\S+)", template).group(1)
        makefile = (ROOT / "Makefile").read_text()
        layer_arch = re.search(r"^LAYER_ARCH\s*\?=\s*(\S+)", makefile, re.M).group(1)
        layer_makefile = (ROOT / "layers/oracle-instantclient/Makefile").read_text()
        layer_default = re.search(r"^ARCH \?= (\S+)", layer_makefile, re.M).group(1)
        self.assertEqual({default, build_arch, layer_arch, layer_default}, {"arm64"})
        # sam build gets the layer's and the functions' architecture from the same variable.
        recipe = makefile.split("\nsam-build:", 1)[1].split("\n\n", 1)[0]
        self.assertIn('ARCH="$(LAYER_ARCH)"', recipe)
        self.assertIn("--parameter-overrides Architecture=$(LAYER_ARCH)", recipe)

    def test_a_deploy_refuses_a_stage_of_another_architecture_than_the_build(self):
        with tempfile.TemporaryDirectory() as tmp:
            work = Path(tmp)
            (work / "tools").mkdir()
            for name in ("Makefile", "tools/deploy_architecture.py"):
                (work / name).write_text((ROOT / name).read_text())
            (work / ".venv").symlink_to(ROOT / ".venv")
            (work / "samconfig.toml").write_text(
                'version = 0.1\n[prod.deploy.parameters]\nstack_name = "orabridge-prod"\n'
                'parameter_overrides = "Stage=\\"prod\\" Architecture=\\"x86_64\\""\n')
            # `-o setup`: the tools are not needed to reach the check.
            done = subprocess.run(["make", "-s", "-o", "setup", "deploy", "STAGE=prod", "IC_ZIP=ic.zip",
                                   "LAYER_ARCH=arm64"], cwd=work, capture_output=True, text=True)
            self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
            self.assertIn("prod deploys Architecture=x86_64 (samconfig.toml, prod), "
                          "but the build is for LAYER_ARCH=arm64", done.stderr)
            self.assertIn("pass LAYER_ARCH=x86_64", done.stderr)
            self.assertNotIn("sam build", done.stdout, "refused before building")

    def test_the_architecture_is_read_as_sam_deploy_reads_it(self):
        """samconfig.toml read by SAM CLI's own code (https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-cli-config.html):
        every form of parameter_overrides, the deploy section over global. An update keeps the
        previous value of a parameter no override names (samcli's deploy sends UsePreviousValue),
        so an unnamed Architecture cannot be told and is refused."""
        sys.path.insert(0, str(ROOT / "tools"))
        from deploy_architecture import deployed_architecture

        def read(samconfig: str, flags: str = "") -> tuple[str | None, str]:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / "samconfig.toml"
                path.write_text("version = 0.1\n" + samconfig)
                (Path(tmp) / "params.toml").write_text('Architecture = "x86_64"\n')
                return deployed_architecture(path, "prod", flags, "arm64")

        deploy = "[prod.deploy.parameters]\n"
        for form in ('"Stage=prod Architecture=x86_64"', '["Stage=prod", "Architecture=x86_64"]',
                     "\"Architecture='x86_64'\"", '"ParameterKey=Architecture,ParameterValue=x86_64"',
                     '{Stage = "prod", Architecture = "x86_64"}', '[["Architecture=x86_64"]]',
                     '"file://params.toml"'):
            self.assertEqual(read(deploy + f"parameter_overrides = {form}\n")[0], "x86_64", form)
        self.assertEqual(read('[prod.global.parameters]\nparameter_overrides = "Architecture=x86_64"\n'
                              + deploy + 'stack_name = "orabridge-prod"\n')[0],
                         "x86_64", "the global section")
        hidden = read('[prod.global.parameters]\nparameter_overrides = "Architecture=x86_64"\n'
                      + deploy + 'parameter_overrides = "Stage=prod"\n')
        self.assertIsNone(hidden[0], "deploy's overrides hide global's and name no architecture")
        self.assertIn("keeps the stack's previous one", hidden[1])
        self.assertIsNone(read(deploy + 'stack_name = "orabridge-prod"\n')[0], "nothing named")
        self.assertEqual(read('[prod.global.parameters]\nparameter_overrides = "Architecture=x86_64"\n'),
                         ("arm64", "the guided first deploy, which offers LAYER_ARCH"),
                         "no deploy section yet: the guided deploy")
        for flags in ("--parameter-overrides Architecture=arm64", "--parameter-overrides=Stage=prod Architecture=x86_64"):
            refused = read(deploy + 'parameter_overrides = "Architecture=arm64"\n', flags)
            self.assertIsNone(refused[0], flags)
            self.assertIn("put them in samconfig.toml", refused[1])
        self.assertEqual(read(deploy + 'parameter_overrides = "Architecture=arm64"\n', "--no-confirm-changeset")[0],
                         "arm64")

if __name__ == "__main__":
    unittest.main()
