#!/usr/bin/env python3
"""Refuses a deploy whose stage would run another architecture than the build's (`make deploy`).

`make deploy` builds the functions and the Instant Client layer for LAYER_ARCH; the stack's
`Architecture` parameter decides what Lambda runs them on. If the two differ every function
fails at start (an aarch64 `bootstrap` on x86-64, or the layer's libraries of the other
machine). samconfig.toml is read by SAM CLI's own code (the pinned samcli in .venv), as `sam
deploy --config-env STAGE` reads it: the stage's `deploy` section over its `global` one, every
form of `parameter_overrides` SAM accepts. The architecture must be named there: a parameter no
override names keeps the stack's previous value on an update (SAM sends `UsePreviousValue`),
which nothing here can see. A stage with no deploy section gets `make deploy`'s guided deploy,
which offers LAYER_ARCH. `--parameter-overrides` in SAM_DEPLOY_FLAGS (the environment variable)
would replace the file's overrides: they belong in samconfig.toml, so they are refused.

    SAM_DEPLOY_FLAGS=... .venv/bin/python tools/deploy_architecture.py --stage prod --build-arch arm64
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def deployed_architecture(samconfig: Path, stage: str, flags: str, build_arch: str) -> tuple[str | None, str]:
    """The architecture `sam deploy --config-env STAGE` would give the stack, or None when it
    cannot be told, and where it comes from or why not."""
    if "--parameter-overrides" in flags:
        return None, ("SAM_DEPLOY_FLAGS sets --parameter-overrides, which would replace samconfig.toml's; "
                      "put them in samconfig.toml")
    text = samconfig.read_text() if samconfig.is_file() else ""
    # The same test `make deploy` uses to choose the guided deploy.
    if not re.search(rf"^\[{re.escape(stage)}\.deploy", text, re.M):
        return build_arch, "the guided first deploy, which offers LAYER_ARCH"
    import click
    from samcli.cli.types import CfnParameterOverridesType
    from samcli.lib.config.samconfig import SamConfig

    saved = SamConfig(str(samconfig.parent), samconfig.name).get_all(["deploy"], "parameters", env=stage)
    overrides = saved.get("parameter_overrides")
    # `file://` paths are relative to where sam runs: make deploy runs it beside samconfig.toml.
    here = os.getcwd()
    os.chdir(samconfig.parent)
    try:
        named = CfnParameterOverridesType().convert(overrides, None, None) if overrides else {}
    except click.BadParameter as err:
        return None, f"samconfig.toml's {stage} parameter_overrides: {err.message}"
    finally:
        os.chdir(here)
    if "Architecture" not in named:
        return None, (f"samconfig.toml's {stage} overrides name no Architecture, so an update keeps the "
                      f"stack's previous one; add Architecture={build_arch} to its parameter_overrides")
    return named["Architecture"], f"samconfig.toml, {stage}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--build-arch", required=True)
    parser.add_argument("--flags", default=os.environ.get("SAM_DEPLOY_FLAGS", ""))
    parser.add_argument("--samconfig", type=Path, default=ROOT / "samconfig.toml")
    args = parser.parse_args()
    architecture, source = deployed_architecture(args.samconfig, args.stage, args.flags, args.build_arch)
    if architecture is None:
        print(f"make deploy: cannot tell which Architecture {args.stage} deploys: {source}", file=sys.stderr)
        return 2
    if architecture != args.build_arch:
        print(f"{args.stage} deploys Architecture={architecture} ({source}), but the build is for "
              f"LAYER_ARCH={args.build_arch}: pass LAYER_ARCH={architecture} and an Instant Client "
              f"zip for {architecture}, or set Architecture={args.build_arch}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
