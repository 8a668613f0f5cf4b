#!/usr/bin/env bash
# Installs everything the product and its tests need on a fresh Debian machine:
# system packages (Java 17, Maven, PostgreSQL, npm, Kannel) when absent, the virtualenv, the npm assets, the Kafka jars.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v java >/dev/null 2>&1 || need_apt+=(openjdk-17-jre-headless)
command -v mvn >/dev/null 2>&1 || need_apt+=(maven)
command -v npm >/dev/null 2>&1 || need_apt+=(npm)
if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
  need_apt+=(postgresql)
fi
# the web console's browser tests (Debian's chromium, CJK fonts for its Chinese pages)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
[ -d /usr/share/fonts/opentype/noto ] || need_apt+=(fonts-noto-cjk)
# WeasyPrint (reporting's PDF bulletins) lays text out with Pango
ldconfig -p 2>/dev/null | grep -q 'libpangoft2-1.0' || need_apt+=(libpango-1.0-0 libpangoft2-1.0-0)
# SMS (shared/sms): the tests run a real Kannel (bearerbox, smsbox) with its fake SMSC and SMPP driver (kannel-extras)
[ -x /usr/sbin/bearerbox ] || need_apt+=(kannel)
[ -x /usr/lib/kannel/test/fakesmsc ] || need_apt+=(kannel-extras)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing ${need_apt[*]} with apt-get"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_apt[@]}" >/dev/null
  else
    echo "setup: please install ${need_apt[*]} (Debian packages) and run again" >&2
    exit 1
  fi
fi

PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/pip install -q --upgrade pip
# the pinned, hash-checked lock (requirements/README.md), then the project itself without resolving again
.venv/bin/pip install -q --require-hashes -r requirements/dev.txt
.venv/bin/pip install -q --no-deps -e .

# the browser assets the product serves itself, pinned by package-lock.json: Swagger UI for each API's
# /docs, the console's htmx, axe-core for the accessibility checks
npm ci --silent --no-audit --no-fund

# kustomize renders deploy/k8s's overlays for their tests: built once from its Go module into the cache.
KUSTOMIZE_VERSION=v5.7.1
kustomize_bin="${XDG_CACHE_HOME:-$HOME/.cache}/hotline/bin"
if ! "$kustomize_bin/kustomize" version 2>/dev/null | grep -qx "$KUSTOMIZE_VERSION"; then
  go_cmd=$(command -v go || echo /usr/local/go/bin/go)
  if [ ! -x "$go_cmd" ]; then
    echo "setup: Go is needed to build kustomize (the deploy manifests' tests); install Go and run again" >&2
    exit 1
  fi
  echo "setup: building kustomize $KUSTOMIZE_VERSION"
  GOBIN="$kustomize_bin" "$go_cmd" install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION"
fi

# Kafka release jars and Keycloak's distribution (identity's OIDC tests) from Maven Central, cached
# under the user's cache folder.
.venv/bin/hotline infra fetch --keycloak
echo "setup: done"
