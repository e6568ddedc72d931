#!/usr/bin/env bash
# Build the project image (deploy/Dockerfile) with buildah, without a container registry, and
# smoke-run it. Tags `chatloop:<version in pyproject.toml>`.
#
#   scripts/build-image.sh            # build + smoke run
#   scripts/build-image.sh --smoke    # smoke-run the image already built
#   scripts/build-image.sh --pip-config DIR   # only write DIR/pip.conf + DIR/volumes (step 2)
#
# 1. Base: a Debian bookworm root filesystem with python3 + pip (mmdebstrap), cached in
#    .chatloop/image/ and imported into podman once. CHATLOOP_BASE_IMAGE=<ref> uses that image
#    instead (e.g. the Dockerfile's own python:3.11-slim default where a registry is reachable).
# 2. `buildah build --runtime runc` with nofile/nproc ulimits (crun and the default limits fail in
#    sandboxes like this one). The host's pip configuration (`pip config list`: files and PIP_*
#    variables, merged into one file), its CA bundle and the local folders and files it names
#    (find-links, file:// indexes, constraints) are mounted read-only into the RUN steps only:
#    none of it lands in a layer.
# 3. Smoke: `chatloop --help`, `chatloop serve --help`, `python -m kfp.dsl.executor_main --help`
#    as uid 10001 with a read-only root filesystem and no network.
#
# Environment: TORCH_LOCK=requirements-cuda.lock builds the GPU image; TORCH_INDEX is passed on
# (default here: "", so torch comes from what the pip configuration offers);
# CHATLOOP_DEBIAN_MIRROR (default http://deb.debian.org/debian).
# Needs root (or a rootless podman setup) and the Debian packages mmdebstrap, buildah, podman, runc.
set -euo pipefail
cd "$(dirname "$0")/.."

die() { echo "build-image: $*" >&2; exit 1; }
need() {  # need COMMAND APT_PACKAGE
  command -v "$1" >/dev/null 2>&1 \
    || die "$1 not found: install the Debian package '$2' (apt-get install $2)"
}

# Under /dev: the runtime mounts a fresh tmpfs there in every RUN step, so the mount points
# are not left behind in a layer (buildah keeps the ones it creates elsewhere, buildah#5847).
MNT=/dev/chatloop-build

pip_config() {  # pip_config DIR: DIR/pip.conf (host paths rewritten under $MNT), DIR/volumes
  PYTHON=.venv/bin/python
  [ -x "$PYTHON" ] || PYTHON=python3
  command -v "$PYTHON" >/dev/null 2>&1 || die "python3 not found: install the Debian package 'python3'"
  (umask 077 && mkdir -p "$1")   # pip.conf may hold an index URL's credentials
  "$PYTHON" -m pip config list > "$1/list" 2>/dev/null \
    || die "'$PYTHON -m pip config list' failed: is pip installed?"
  "$PYTHON" - "$1" "$MNT" <<'EOF'
"""Write DIR/pip.conf (host paths rewritten under MNT) and DIR/volumes (host:container:ro)."""
import ast, os, re, sys
from urllib.parse import unquote, urlparse

pipdir, mnt = sys.argv[1], sys.argv[2]
PATH_KEYS = {"cert", "client-cert", "constraint", "find-links", "index-url", "extra-index-url"}
sections, volumes, env = {}, {}, {}
for line in open(os.path.join(pipdir, "list")):
    m = re.match(r"^([^=]+?)\.([^.=]+)=(.*)$", line.strip())
    if m and m.group(2) != "config-file":   # PIP_CONFIG_FILE's own contents are listed
        target = env if m.group(1) == ":env:" else sections.setdefault(m.group(1), {})
        target[m.group(2)] = ast.literal_eval(m.group(3))
for key, value in env.items():   # PIP_* variables win over every file section
    for items in sections.values():
        items.pop(key, None)
    sections.setdefault("global", {})[key] = value


def local(item):
    """A host path in a config value (plain path or file:// URL), else None."""
    if item.startswith("file:"):
        return unquote(urlparse(item).path)
    return item if item.startswith("/") else None


def rewrite(key, item):
    path = local(item)
    if path is None:
        return item
    if not os.path.exists(path):
        sys.exit(f"build-image: the pip configuration names {item}, which does not exist")
    real = os.path.realpath(path)
    root, rest = real, ""
    if key.endswith("index-url") and os.path.basename(real) == "simple":
        # a local index's pages link to files beside simple/ (../../files/...): mount its root
        root, rest = os.path.dirname(real), "/simple"
    inside = volumes.setdefault(root, f"{mnt}/{len(volumes)}-{os.path.basename(root) or 'root'}")
    return f"file://{inside}{rest}" if item.startswith("file:") else inside + rest


with open(os.path.join(pipdir, "pip.conf"), "w") as out:
    for section, items in sections.items():
        out.write(f"[{section}]\n")
        for key, value in items.items():
            if key in PATH_KEYS:
                value = " ".join(rewrite(key, v) for v in value.split())
            out.write(f"{key} = {value}\n")
with open(os.path.join(pipdir, "volumes"), "w") as out:
    for host, inside in volumes.items():
        out.write(f"{host}:{inside}:ro\n")
EOF
  echo "build-image: pip configuration for the build (read-only, not in the image):"
  sed -E 's#(://)[^/@[:space:]]+@#\1***@#g; s/^/  /' "$1/pip.conf"   # credentials masked
}

SMOKE_ONLY=0
case "${1:-}" in
  "") ;;
  --smoke) SMOKE_ONLY=1 ;;
  --pip-config) [ -n "${2:-}" ] || die "--pip-config needs a folder"; pip_config "$2"; exit 0 ;;
  *) die "unknown argument '$1' (usage: scripts/build-image.sh [--smoke | --pip-config DIR])" ;;
esac

VERSION=$(sed -n 's/^version *= *"\([^"]*\)".*/\1/p' pyproject.toml | head -n1)
[ -n "$VERSION" ] || die "no version = \"...\" line in pyproject.toml"
TAG="chatloop:$VERSION"
need podman podman
need runc runc
# The runtime and limits every container here runs with (see the header).
RUN_OPTS=(--runtime runc --ulimit nofile=1024:1024 --ulimit nproc=4096:4096)

smoke() {
  echo "build-image: smoke run of $TAG as uid 10001, read-only root, no network"
  local run=(podman run --rm "${RUN_OPTS[@]}" --read-only --user 10001 --network none "localhost/$TAG")
  local id
  id=$("${run[@]}" sh -c 'id -u; if touch /app/.w 2>/dev/null; then echo writable; else echo read-only; fi')
  echo "$id"
  [ "$(echo "$id" | head -n1)" = 10001 ] || die "smoke: the image does not run as uid 10001"
  [ "$(echo "$id" | tail -n1)" = read-only ] || die "smoke: /app is writable with --read-only"
  for cmd in "chatloop --help" "chatloop serve --help" "python -m kfp.dsl.executor_main --help"; do
    echo "build-image: smoke: $cmd"
    # shellcheck disable=SC2086  # the command is split on purpose
    "${run[@]}" $cmd || die "smoke: '$cmd' failed in $TAG"
  done
  echo "build-image: smoke passed: $TAG"
}

if [ "$SMOKE_ONLY" = 1 ]; then
  smoke
  exit 0
fi

need buildah buildah
START=$(date +%s)
CACHE=.chatloop/image
mkdir -p "$CACHE"

# 1. The base image.
BASE=${CHATLOOP_BASE_IMAGE:-}
if [ -z "$BASE" ]; then
  need mmdebstrap mmdebstrap
  MIRROR=${CHATLOOP_DEBIAN_MIRROR:-http://deb.debian.org/debian}
  SECURITY=${MIRROR%/debian}/debian-security
  MM_ARGS=(--variant=apt --format=tar
    --include=python3,python3-pip,python-is-python3,ca-certificates
    --dpkgopt='path-exclude=/usr/share/man/*'
    # PEP 668: a container's own Python is ours to manage (pip installs into /usr/local).
    --customize-hook='rm -f "$1"/usr/lib/python3*/EXTERNALLY-MANAGED'
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin'
    bookworm)
  MIRRORS=("deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main"
    "deb $SECURITY bookworm-security main")
  KEY=$(printf '%s\n' "${MM_ARGS[@]}" "${MIRRORS[@]}" | sha256sum | cut -c1-12)
  BASE=localhost/chatloop-base:bookworm-$KEY
  ROOTFS=$CACHE/rootfs-bookworm-$KEY.tar
  if [ ! -s "$ROOTFS" ]; then
    echo "build-image: building the Debian bookworm base with mmdebstrap (a few minutes, once)"
    rm -f "$ROOTFS.part"
    mmdebstrap "${MM_ARGS[@]}" "$ROOTFS.part" "${MIRRORS[@]}" \
      || die "mmdebstrap failed (is $MIRROR reachable?)"
    mv "$ROOTFS.part" "$ROOTFS"
  else
    echo "build-image: reusing the cached base $ROOTFS"
  fi
  if ! podman image exists "$BASE"; then
    podman import --change 'ENV LANG=C.UTF-8' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["python3"]' "$ROOTFS" "$BASE" >/dev/null
  fi
fi
echo "build-image: base $BASE"

# 2. The host's pip configuration (see pip_config).
PIPDIR=$CACHE/pip
pip_config "$PIPDIR"
VOLUMES=(--volume "$(realpath "$PIPDIR/pip.conf"):$MNT/pip.conf:ro")
while IFS= read -r v; do VOLUMES+=(--volume "$v"); done < "$PIPDIR/volumes"

# 3. Build and tag.
echo "build-image: buildah build -f deploy/Dockerfile -t $TAG"
buildah build --layers "${RUN_OPTS[@]}" "${VOLUMES[@]}" \
  --build-arg BASE_IMAGE="$BASE" \
  --build-arg PIP_CONFIG_FILE="$MNT/pip.conf" \
  --build-arg TORCH_INDEX="${TORCH_INDEX:-}" \
  --build-arg TORCH_LOCK="${TORCH_LOCK:-}" \
  -f deploy/Dockerfile -t "$TAG" . \
  || die "buildah build failed (output above)"
echo "build-image: built $TAG in $(( $(date +%s) - START )) s"

smoke
