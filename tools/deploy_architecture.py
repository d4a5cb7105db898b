#!/usr/bin/env python3
"""Refuses a deploy whose stage would run another architecture than the build's (`make deploy`).

`make deploy` builds the functions and the Instant Client layer for LAYER_ARCH; the stack's
`Architecture` parameter decides what Lambda runs them on. If the two differ every function
fails at start (an aarch64 `bootstrap` on x86-64, or the layer's libraries of the other
machine). The architecture the deploy will use is read as `sam deploy --config-env STAGE` reads
it: `--parameter-overrides` in SAM_DEPLOY_FLAGS (the environment variable) replace samconfig.toml's; there,
`[STAGE.deploy.parameters]` overrides `[STAGE.global.parameters]`; `parameter_overrides` is a
string (`Stage="prod" Architecture="arm64"`) or a list, each entry `Key=Value` or CloudFormation's
`ParameterKey=Architecture,ParameterValue=arm64`; nothing saved means the template's Default. A
stage with no deploy section yet gets the guided deploy, to which `make deploy` passes LAYER_ARCH.

    SAM_DEPLOY_FLAGS=... tools/deploy_architecture.py --stage prod --build-arch arm64
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def overrides(entries: list[str]) -> dict[str, str]:
    """`Key=Value` and `ParameterKey=K,ParameterValue=V` entries as a mapping."""
    found: dict[str, str] = {}
    for entry in entries:
        cloudformation = re.fullmatch(r"ParameterKey=([^,]+),ParameterValue=(.*)", entry)
        if cloudformation:
            found[cloudformation.group(1)] = cloudformation.group(2)
        elif "=" in entry:
            key, value = entry.split("=", 1)
            found[key] = value
    return found


def entries_of(value: object) -> list[str]:
    """A samconfig `parameter_overrides` (a string or a list of strings) as its entries."""
    if isinstance(value, str):
        return shlex.split(value)
    if isinstance(value, list):
        return [token for item in value for token in shlex.split(str(item))]
    return []


def flag_overrides(flags: str) -> dict[str, str] | None:
    """The `--parameter-overrides` given on the command line, if any (they replace the file's)."""
    tokens = shlex.split(flags)
    for index, token in enumerate(tokens):
        if token == "--parameter-overrides":
            following = []
            for entry in tokens[index + 1:]:
                if entry.startswith("--"):
                    break
                following.append(entry)
            return overrides(following)
        if token.startswith("--parameter-overrides="):
            return overrides(shlex.split(token.split("=", 1)[1]))
    return None


def template_default(template: str) -> str:
    """The template's default for its `Architecture` parameter."""
    found = re.search(r"\n  Architecture:\n(?:    .*\n)*?    Default: (\S+)", template)
    if not found:
        raise SystemExit("template.yaml has no Architecture parameter with a Default")
    return found.group(1)


def deployed_architecture(samconfig: dict, stage: str, flags: str, template: str,
                          build_arch: str) -> tuple[str, str]:
    """The architecture `sam deploy --config-env STAGE` would pass, and where it comes from."""
    if "deploy" not in samconfig.get(stage, {}):
        # `make deploy`'s first, guided deploy of a stage passes Architecture=LAYER_ARCH itself.
        return build_arch, "the guided first deploy"
    from_flags = flag_overrides(flags)
    if from_flags is not None:
        if "Architecture" in from_flags:
            return from_flags["Architecture"], "SAM_DEPLOY_FLAGS' --parameter-overrides"
        return template_default(template), "the template's Default (SAM_DEPLOY_FLAGS' overrides set none)"
    section = samconfig.get(stage, {})
    for command in ("deploy", "global"):
        saved = section.get(command, {}).get("parameters", {}).get("parameter_overrides")
        if saved is not None:
            found = overrides(entries_of(saved))
            if "Architecture" in found:
                return found["Architecture"], f"samconfig.toml [{stage}.{command}.parameters]"
            # sam reads one parameter_overrides: the deploy section's hides the global one.
            break
    return template_default(template), "the template's Default"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--build-arch", required=True)
    parser.add_argument("--flags", default=os.environ.get("SAM_DEPLOY_FLAGS", ""))
    parser.add_argument("--samconfig", type=Path, default=ROOT / "samconfig.toml")
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    args = parser.parse_args()
    samconfig = tomllib.loads(args.samconfig.read_text()) if args.samconfig.is_file() else {}
    architecture, source = deployed_architecture(samconfig, args.stage, args.flags,
                                                 args.template.read_text(), args.build_arch)
    if architecture != args.build_arch:
        print(f"{args.stage} deploys Architecture={architecture} ({source}), but the build is for "
              f"LAYER_ARCH={args.build_arch}: pass LAYER_ARCH={architecture} and an Instant Client "
              f"zip for {architecture}, or set Architecture={args.build_arch}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
