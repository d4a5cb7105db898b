#!/usr/bin/env bash
# Operator commands for the FinanceClosing workflow, through Restate's ingress:
#   tools/closing.sh status 2026-11-20   (make closing-status DATE=2026-11-20)
#   tools/closing.sh cancel 2026-11-20   (make closing-cancel DATE=2026-11-20)
# RESTATE_INGRESS_URL is the ingress (Restate Cloud: https://<env>.env.<region>.restate.cloud:8080;
# locally http://127.0.0.1:8080); RESTATE_TOKEN, when set, is sent as a bearer token. The token
# goes to curl on stdin, never on its command line, where `ps` would show it.
set -euo pipefail

usage() {
  echo "usage: $0 status|cancel YYYY-MM-DD[+rN]   (RESTATE_INGRESS_URL, optional RESTATE_TOKEN)" >&2
  exit 2
}
[ $# -eq 2 ] || usage
action=$1
key=$2
case "$action" in
  status | cancel) ;;
  *) usage ;;
esac
if ! [[ "$key" =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}(\+r[0-9]+)?$ ]]; then
  echo "closing: DATE must be YYYY-MM-DD (or YYYY-MM-DD+rN for a re-run), got '$key'" >&2
  exit 2
fi
url=${RESTATE_INGRESS_URL:-}
if [ -z "$url" ]; then
  echo "closing: set RESTATE_INGRESS_URL to the Restate ingress (and RESTATE_TOKEN if it needs one)" >&2
  exit 2
fi
# '+' in a path segment is a literal plus for Restate, but encode it so no proxy reads a space.
encoded=${key/+/%2B}
# The handlers take no input: no body, no content type.
headers=""
if [ -n "${RESTATE_TOKEN:-}" ]; then
  headers="Authorization: Bearer $RESTATE_TOKEN"
fi
response=$(mktemp)
trap 'rm -f "$response"' EXIT
status=$(printf '%s\n' "$headers" | curl --silent --show-error --max-time 30 \
  --output "$response" --write-out '%{http_code}' -H @- -X POST \
  "${url%/}/FinanceClosing/${encoded}/${action}" || true)
body=$(cat "$response")
case "$status" in
  2??)
    if [ "$action" = cancel ]; then
      echo "closing $key: cancel requested; at its next wake-up the workflow disables and stops the job, then records how Oracle says it ended"
    else
      echo "$body"
    fi
    ;;
  000)
    echo "closing: could not reach $url" >&2
    exit 1
    ;;
  *)
    echo "closing: $action of $key answered HTTP $status: $body" >&2
    exit 1
    ;;
esac
