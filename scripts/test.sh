#!/usr/bin/env bash
# The test suite: installs what it needs (the locks; Debian's chromium + chromedriver for
# the moderator-console browser tests; mmdebstrap, buildah, podman, runc for the image build
# test), then runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
if ! command -v chromedriver >/dev/null 2>&1 || ! command -v chromium >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "chatloop: installing Debian's chromium and chromium-driver for the browser tests"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium chromium-driver >/dev/null; } \
    || echo "chatloop: could not install chromium; the browser tests will be skipped with that reason"
fi
if ! command -v mmdebstrap >/dev/null 2>&1 || ! command -v buildah >/dev/null 2>&1 \
   || ! command -v podman >/dev/null 2>&1 || ! command -v runc >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo -n"
  echo "chatloop: installing Debian's mmdebstrap, buildah, podman and runc for the image build test"
  { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mmdebstrap buildah podman runc >/dev/null; } \
    || echo "chatloop: could not install the image build tools; the image test will be skipped with that reason"
fi
git config user.email >/dev/null 2>&1 || export GIT_AUTHOR_NAME=chatloop-ci GIT_AUTHOR_EMAIL=ci@chatloop.invalid \
  GIT_COMMITTER_NAME=chatloop-ci GIT_COMMITTER_EMAIL=ci@chatloop.invalid
export MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=100000000000 TOKENIZERS_PARALLELISM=false
exec .venv/bin/python -m pytest -q -p no:cacheprovider "$@"
