#!/usr/bin/env bash
# Every test MeshSeg has, from a fresh clone with ../shared beside it:
# installs what it needs (Debian chromium, pip and npm packages), builds dist/,
# then runs ruff, pytest, the JavaScript unit tests and the Playwright
# (playwright-core + Debian Chromium) suite.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s ==\n' "$*"; }

step "system packages"
if ! command -v chromium >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi
chromium --version
if ! command -v dciodvfy >/dev/null 2>&1; then  # dicom3tools: the DICOM SEG validator
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq dicom3tools >/dev/null
fi

step "python packages (virtual environment .venv)"
# A virtual environment works with a Debian/Ubuntu system Python (PEP 668 refuses
# `pip install` outside one). Its bin/ goes first on PATH, so pytest, ruff, build.py
# and the e2e helpers that spawn `python3` all use it.
if ! python3 -m venv .venv >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
  python3 -m venv .venv
fi
export PATH="$PWD/.venv/bin:$PATH"
export VIRTUAL_ENV="$PWD/.venv"
python3 -m pip install -q --disable-pip-version-check -e ".[dev]"

step "npm packages"
npm ci --no-audit --no-fund --loglevel=error

step "build dist/"
python3 build.py --out dist

step "ruff"
python3 -m ruff check py tests tools build.py

status=0
step "pytest"
# Two pytest processes side by side: the full-size model runs (marked slow) one after
# another in one, the quick tests in the other; each prints its report when both are done.
logs=$(mktemp -d)
python3 -m pytest -q -ra -p no:cacheprovider -m slow tests > "$logs/slow" 2>&1 & slow=$!
python3 -m pytest -q -ra -p no:cacheprovider -m "not slow" tests > "$logs/quick" 2>&1 & quick=$!
wait "$slow" || status=$?
wait "$quick" || status=$?
cat "$logs/slow" "$logs/quick"
rm -rf "$logs"

step "JavaScript unit tests (node --test, against the built dist/js)"
node --test tests/js/ || status=$?

step "browser tests (Playwright, Chromium)"
node --test --test-concurrency=1 tests/e2e/ || status=$?

exit $status
