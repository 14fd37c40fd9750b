#!/usr/bin/env bash
# The OAuth e2e tests' authorization server (oidc-provider) and the TypeScript SDK client,
# installed with npm under target/oauth-idp (tests/oauth-idp/package.json says what; npm's lock,
# which records download URLs, stays there, never in git). Idempotent and quiet; `make test`
# runs it, and the tests run it themselves when it has not been.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SRC=$ROOT/tests/oauth-idp
DST=${MCPCTL_OAUTH_IDP_DIR:-$ROOT/target/oauth-idp}
say() { printf 'oauth-idp: %s\n' "$*" >&2; }
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  say "installing nodejs and npm (Debian packages)"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
mkdir -p "$DST"
cp "$SRC"/*.mjs "$SRC"/*.py "$DST"/
if [ ! -d "$DST/node_modules/oidc-provider" ] || [ ! -d "$DST/node_modules/@modelcontextprotocol/sdk" ] \
  || ! cmp -s "$SRC/package.json" "$DST/package.json"; then
  cp "$SRC/package.json" "$DST/package.json"
  say "npm install (oidc-provider, @modelcontextprotocol/sdk) into ${DST#"$ROOT"/}"
  log=$(mktemp)
  if ! (cd "$DST" && npm install --no-audit --no-fund --loglevel=error >"$log" 2>&1); then
    tail -n 40 "$log" >&2; rm -f "$log"; exit 1
  fi
  rm -f "$log"
fi
