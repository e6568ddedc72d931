#!/usr/bin/env bash
# The test suite: installs what it needs (the lock; Debian's chromium + chromedriver for
# the moderator-console browser tests), then runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "chatloop: installing Debian's chromium and chromium-driver for the browser tests"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; } \
    || echo "chatloop: could not install chromium; the browser tests will be skipped with that reason"
fi
git config user.email >/dev/null 2>&1 || export GIT_AUTHOR_NAME=chatloop-ci GIT_AUTHOR_EMAIL=ci@chatloop.invalid \
  GIT_COMMITTER_NAME=chatloop-ci GIT_COMMITTER_EMAIL=ci@chatloop.invalid
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
