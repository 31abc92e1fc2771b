#!/usr/bin/env bash
# The framework adapters of the Python SDK (src/oakauth/integrations): ruff, mypy --strict with the
# frameworks installed, and pytest tests/integrations (each adapter with its real framework and a
# scripted model, the MCP adapter through a real stdio client, against the real worker in local
# workerd; the examples of docs/integrations/ run and match the docs).
# The frameworks live in their own virtual environment, sdk-py/.venv-integrations (gitignored), with
# the exact pins of requirements-integrations.txt (crewai needs a pydantic older than the core's
# pin, see that file); it is (re)installed only when that file changes. About 1.2 GB, most of it
# crewai's dependencies (lancedb, pyarrow, chromadb, onnxruntime); about a minute to install.
# Usage: sdk-py/scripts/test-integrations.sh [pytest arguments]
source "$(dirname "$0")/../../scripts/lib.sh"
SDK="$ROOT/sdk-py"
cd "$SDK"

VENV="$SDK/.venv-integrations"
if ! cmp -s requirements-integrations.txt "$VENV/installed-requirements.txt" 2>/dev/null; then
  log "installing the agent frameworks into ${VENV#$ROOT/} from PyPI"
  rm -rf "$VENV"
  python3 -m venv "$VENV" || die "python3 -m venv failed (on Debian and Ubuntu: apt-get install python3-venv)"
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r requirements-integrations.txt
  cp requirements-integrations.txt "$VENV/installed-requirements.txt"
fi
PY="$VENV/bin/python"
# The SDK from this tree (src/ first on the path, not an installed copy); no framework telemetry.
export PYTHONPATH="$SDK/src${PYTHONPATH:+:$PYTHONPATH}"
export CREWAI_DISABLE_TELEMETRY=true CREWAI_TRACING_ENABLED=false OTEL_SDK_DISABLED=true

status=0
log "ruff (integrations)"
"$PY" -m ruff check src/oakauth/integrations tests/integrations examples/integrations || status=1
"$PY" -m ruff format --check src/oakauth/integrations tests/integrations examples/integrations || status=1
log "mypy --strict (integrations, with the frameworks installed)"
"$PY" -m mypy --strict src/oakauth/integrations || status=1
log "pytest tests/integrations"
"$PY" -m pytest tests/integrations "$@" || status=1
exit "$status"
