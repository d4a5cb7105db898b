#!/usr/bin/env bash
# Runs one long step of `make setup`, `make test` or `make demo` and says so: a line before it
# with what it does and how long it took on a 2-core machine, a line after it with how long it
# took here. A newcomer's first run compiles for minutes; silence would look like a hang.
#   tools/step.sh "<what>" "<time measured on 2 cores>" command [args...]
set -euo pipefail
what=$1 expected=$2
shift 2
echo "==> $what (measured on 2 cores: $expected)"
start=$SECONDS
"$@"
echo "<== $what: $((SECONDS - start)) s"
