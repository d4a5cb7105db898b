#!/usr/bin/env python3
"""Writes the SSM parameters an orabridge environment reads (`make params`).

CloudFormation cannot create SecureString parameters, so secrets are written here, once per
environment, under <root>/<stage>/<function>/..., the only paths each function may read
(template.yaml scopes its IAM to them). Values come, in this order, from `--values FILE`
(`name=value` lines, names as listed by `--list`), from environment variables
`ORABRIDGE_PARAM_<NAME>` (upper-case, `/` and `-` as `_`), from the defaults below, or from a
prompt when run in a terminal (secrets are read without echo). A value is never printed.

    tools/params.py --stage dev --values params.dev.env
    tools/params.py --list
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Param:
    """One parameter: its path under <root>/<stage>/, whether it is secret, what it holds."""

    name: str
    secure: bool
    description: str
    default: str | None = None


PARAMS = [
    Param("proxy/upstreams", False,
          "Unified API base URLs in failover order, comma-separated (https://primary,https://standby)"),
    Param("proxy/internal-key", True, "The Unified API's internal key (sent as X-Internal-Key)"),
    Param("sensor-consumer/thresholds", False,
          'Alert thresholds, e.g. {"water_level": {"level_cm": {"gt": 300}}}', "{}"),
    Param("run-colors/oracle/host", False, "Oracle host of the colors table"),
    Param("run-colors/oracle/port", False, "Oracle listener port", "1521"),
    Param("run-colors/oracle/service_name", False, "Oracle service name"),
    Param("run-colors/oracle/username", False, "Oracle user"),
    Param("run-colors/oracle/password", True, "Oracle password"),
    Param("run-colors/oracle/schema", False, "Schema of the colors table"),
    Param("run-colors/oracle/table", False, "The colors table"),
    Param("run-colors/rules", False, "Exclusion rules document (JSON)",
          '{"price_order": "desc", "rules": []}'),
    Param("finance-closing/oracle-password", True, "Password of the closing's Oracle user"),
    Param("finance-closing/pg-password", True, "Password of the PostgreSQL user"),
    Param("finance-closing/restate-ingress-url", False, "Restate ingress URL (https://...)"),
    Param("finance-closing/restate-token", True, "Restate API token for the ingress"),
]

# SSM's standard tier stores values up to 4 KB; larger ones need the advanced tier.
STANDARD_TIER_BYTES = 4096


def env_name(param: Param) -> str:
    return "ORABRIDGE_PARAM_" + param.name.upper().replace("/", "_").replace("-", "_")


def read_values_file(path: Path) -> dict[str, str]:
    values = {}
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = line.partition("=")
        if not sep:
            raise SystemExit(f"params: {path}:{number}: expected name=value")
        values[name.strip()] = value.strip()
    unknown = sorted(set(values) - {p.name for p in PARAMS})
    if unknown:
        raise SystemExit(f"params: {path}: unknown parameter(s): {', '.join(unknown)} (see --list)")
    return values


def resolve(params: list[Param], file_values: dict[str, str], interactive: bool) -> dict[str, str]:
    """Every parameter's value, or exit naming the ones without one."""
    values, missing = {}, []
    for param in params:
        value = file_values.get(param.name) or os.environ.get(env_name(param)) or param.default
        if value is None and interactive:
            prompt = f"{param.name} ({param.description}): "
            value = getpass.getpass(prompt) if param.secure else input(prompt)
        if not value:
            missing.append(param)
        else:
            values[param.name] = value
    if missing:
        lines = [f"  {p.name}  (--values file, or {env_name(p)})" for p in missing]
        raise SystemExit("params: no value for:\n" + "\n".join(lines))
    return values


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", default=os.environ.get("STAGE", "dev"))
    parser.add_argument("--root", default="/orabridge", help="the template's SsmRoot")
    parser.add_argument("--values", type=Path, help="file of name=value lines")
    parser.add_argument("--kms-key", help="KMS key for SecureStrings (the template's SsmKmsKeyArn)")
    parser.add_argument("--only", help="comma-separated function names (proxy,run-colors,...)")
    parser.add_argument("--list", action="store_true", help="list the parameters and exit")
    parser.add_argument("--dry-run", action="store_true", help="say what would be written")
    args = parser.parse_args(argv)

    params = PARAMS
    if args.only:
        wanted = {name.strip() for name in args.only.split(",")}
        params = [p for p in PARAMS if p.name.split("/")[0] in wanted]
    if args.list:
        for p in params:
            print(f"{p.name:40} {'SecureString' if p.secure else 'String':12} {p.description}")
        return 0

    file_values = read_values_file(args.values) if args.values else {}
    values = resolve(params, file_values, interactive=sys.stdin.isatty() and not args.dry_run)
    prefix = f"{args.root.rstrip('/')}/{args.stage}/"
    if args.dry_run:
        for p in params:
            print(f"would write {prefix}{p.name} ({'SecureString' if p.secure else 'String'})")
        return 0

    import boto3  # from the pinned tools in .venv (aws-sam-cli depends on it)

    # AWS_ENDPOINT_URL (a local stack) is honoured by boto3 itself.
    ssm = boto3.client("ssm")
    for p in params:
        value = values[p.name]
        request = {
            "Name": prefix + p.name,
            "Value": value,
            "Type": "SecureString" if p.secure else "String",
            "Overwrite": True,
            "Description": p.description[:1024],
            "Tier": "Advanced" if len(value.encode()) > STANDARD_TIER_BYTES else "Standard",
        }
        if p.secure and args.kms_key:
            request["KeyId"] = args.kms_key
        try:
            ssm.put_parameter(**request)
        except Exception as error:  # noqa: BLE001 - report which one failed, never its value
            code = getattr(error, "response", {}).get("Error", {}).get("Code", "")
            print(f"params: writing {prefix}{p.name} failed: {type(error).__name__} {code}",
                  file=sys.stderr)
            return 1
        print(f"wrote {prefix}{p.name} ({request['Type']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
