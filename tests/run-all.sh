#!/usr/bin/env bash
# Every test MeshSeg has, from a fresh clone with ../shared beside it:
# installs what it needs (Debian chromium, pip and npm packages), builds dist/,
# then runs pytest and the Playwright (playwright-core + Debian Chromium) suite.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s ==\n' "$*"; }

step "system packages"
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --version

step "python packages"
python3 -m pip install -q --disable-pip-version-check -e ".[dev]"

step "npm packages"
npm ci --no-audit --no-fund --loglevel=error

step "build dist/"
python3 build.py --out dist

step "ruff"
python3 -m ruff check py tests build.py

status=0
step "pytest"
python3 -m pytest -q -ra tests || status=$?

step "browser tests (Playwright, Chromium)"
node --test --test-concurrency=1 tests/e2e/ || status=$?

exit $status
