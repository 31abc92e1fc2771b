#!/usr/bin/env bash
# The Python SDK's whole check: lint (ruff check, ruff format --check), types (mypy --strict), and
# pytest: unit tests, tests against the real worker in local workerd (started once by
# tests/conftest.py with tests/support/serve.mjs), the contract test against docs/openapi.yaml, the
# framework integrations (tests/integrations/) and packaging (wheel and sdist built, the wheel
# installed into a fresh virtual environment, every public module imported).
# Exits non-zero when any step fails; every step runs.
# Usage: sdk-py/scripts/test.sh [pytest arguments…]
#        sdk-py/scripts/test.sh --lint    (ruff and mypy only, for scripts/lint.sh)
source "$(dirname "$0")/../../scripts/lib.sh"
SDK="$ROOT/sdk-py"
cd "$SDK"

# The tools and the SDK's dependencies live in sdk-py/.venv (gitignored), at the exact versions of
# requirements-dev.txt (and requirements-integrations.txt, the frameworks, when it exists); it is
# (re)installed only when those files change.
VENV="$SDK/.venv"
wanted="$(cat requirements-dev.txt; [[ -f requirements-integrations.txt ]] && cat requirements-integrations.txt || true)"
if [[ "$wanted" != "$(cat "$VENV/installed-requirements.txt" 2>/dev/null)" ]]; then
  log "installing the Python SDK's pinned dependencies into ${VENV#$ROOT/} from PyPI"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian and Ubuntu: apt-get install python3-venv)"
  reqs=(-r requirements-dev.txt)
  [[ -f requirements-integrations.txt ]] && reqs+=(-r requirements-integrations.txt)
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}"
  # The SDK itself, editable, built by the pinned hatchling just installed.
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
  printf '%s' "$wanted" > "$VENV/installed-requirements.txt"
fi
PY="$VENV/bin/python"

status=0
step() { # name command...
  local name="$1"
  shift
  log "python sdk: $name"
  "$@" || { printf '\033[1;31mfailed:\033[0m %s\n' "$name" >&2; status=1; }
}
step "ruff check" "$PY" -m ruff check src tests scripts examples
step "ruff format --check" "$PY" -m ruff format --check src tests scripts examples
step "mypy --strict" "$PY" -m mypy
if [[ "${1:-}" == --lint ]]; then
  exit "$status"
fi
step "pytest" "$PY" -m pytest -q -p no:cacheprovider "$@"
exit "$status"
