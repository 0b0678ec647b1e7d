#!/usr/bin/env bash
# Orthanc 1.12 compatibility: the integration tests run
# inside a Debian trixie root (Orthanc 1.12.x, orthanc-python 5, Python 3.13),
# with the plugin built there by a venv of trixie's own Python.
#
#   tests/compat/trixie.sh root            build the root (idempotent, resumable)
#   tests/compat/trixie.sh test [ARGS...]  root + venv + plugin, then pytest
#                                          inside it (ARGS: pytest arguments;
#                                          default: tests/compat/selection.txt)
#   tests/compat/trixie.sh shell           a shell inside the root, mounts set up
#   tests/compat/trixie.sh run CMD...      CMD inside the root, in the clone, venv on PATH
#   tests/compat/trixie.sh selection       the test files of the compat selection
#
# The root lives outside the clone, in PREVIEWER_TRIXIE_ROOT (default
# /var/cache/orthanc-previewer/trixie), and is kept between runs.  Inside it:
#   /opt/previewer-venv    the venv (trixie's python3), the clone installed editable
#   /opt/previewer-build   the trixie plugin, bind-mounted over the clone's build/
# The clone and ../shared are bind-mounted at their own absolute paths, so the
# tests see the same paths as on the host.  Every mount is made in a private
# mount namespace (unshare), so none can outlive the run or reach the host's
# mount table, and a trap unmounts them anyway.
set -euo pipefail

CLONE=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
ROOT=${PREVIEWER_TRIXIE_ROOT:-/var/cache/orthanc-previewer/trixie}
MIRROR=${PREVIEWER_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=trixie
SHARED=$(cd "$CLONE/.." && pwd)/shared
PYENV=${PYENV_ROOT:-/root/.pyenv}
VENV=/opt/previewer-venv
BUILD=/opt/previewer-build
LOCK=$ROOT.lock
HOST_CA=${PIP_CERT:-/etc/ssl/certs/ca-certificates.crt}
ROOT_CA=/etc/ssl/host-ca-certificates.crt
# What the root needs: Orthanc and the plugins the tests load, a compiler and
# Python's headers for the cffi build, dcmtk (dcmj2pnm oracle), chromium for
# the browser tests, ca-certificates for pip.
PACKAGES="orthanc orthanc-dev orthanc-python orthanc-dicomweb orthanc-webviewer orthanc-gdcm
  python3 python3-dev python3-venv gcc libc6-dev dcmtk chromium ca-certificates fonts-dejavu-core"
# Stamps: debootstrap finished; the package list above installed; the venv
# made for this clone path and pyproject.toml.
DEBOOTSTRAP_STAMP=$ROOT/.previewer-debootstrap-done
PACKAGES_STAMP=$ROOT/.previewer-packages
VENV_STAMP=$ROOT$VENV/.previewer-installed

# The integration part of the suite (tests/compat/selection.txt says which and why).
SELECTION_FILE=$CLONE/tests/compat/selection.txt
REPORTS=$CLONE/test-artifacts/compat

log() { printf 'compat: %s\n' "$*" >&2; }

# Processes still running inside the root (an Orthanc a killed test left).
_root_pids() {
  local pid link
  for pid in /proc/[0-9]*; do
    link=$(readlink "$pid/root" 2>/dev/null) || continue
    [ "$link" = "$ROOT" ] && echo "${pid#/proc/}"
  done
  return 0
}

_kill_leftovers() {
  local pids
  pids=$(_root_pids)
  [ -z "$pids" ] && return 0
  log "stopping processes left inside the root: $pids"
  # shellcheck disable=SC2086
  kill $pids 2>/dev/null || true
  sleep 2
  pids=$(_root_pids)
  # shellcheck disable=SC2086
  [ -n "$pids" ] && kill -9 $pids 2>/dev/null || true
  return 0
}

# Mount points under the root, deepest first (this namespace's table).
_mounts_under_root() {
  awk -v root="$ROOT" '$5 == root || index($5, root "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

_unmount_all() {
  local target
  _kill_leftovers
  for target in $(_mounts_under_root); do
    umount "$target" 2>/dev/null || umount -l "$target" || log "cannot unmount $target"
  done
}

_mount_system() {
  mount -t proc proc "$ROOT/proc"
  mount --rbind /sys "$ROOT/sys"
  mount --rbind /dev "$ROOT/dev"
  cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
  [ -e "$ROOT/etc/hosts" ] || cp /etc/hosts "$ROOT/etc/hosts"
  # pip trusts what the host's pip trusts (this machine's HTTPS goes through
  # a local CA that trixie's ca-certificates does not have).
  mkdir -p "$(dirname "$ROOT$ROOT_CA")"
  cp "$HOST_CA" "$ROOT$ROOT_CA"
}

_mount_work() {
  mkdir -p "$ROOT$CLONE" "$ROOT$BUILD" "$CLONE/build"
  mount --bind "$CLONE" "$ROOT$CLONE"
  mount --bind "$ROOT$BUILD" "$ROOT$CLONE/build"
  _mount_read_only "$SHARED"
  # The host's pyenv Pythons: test_coexistence builds "another Python's" plugin with them.
  _mount_read_only "$PYENV"
}

_mount_read_only() {
  [ -d "$1" ] || return 0
  mkdir -p "$ROOT$1"
  mount --bind "$1" "$ROOT$1"
  mount -o remount,bind,ro "$ROOT$1"
}

# Run a command inside the root with a clean environment (the host's pip
# settings point at folders that do not exist there).
_in_root() {
  local -a env=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8
                DEBIAN_FRONTEND=noninteractive PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_DEFAULT_TIMEOUT=180
                PIP_CERT=$ROOT_CA)
  local name
  for name in CI TERM PYENV_ROOT OPENBLAS_CORETYPE OPENBLAS_L2_SIZE $(compgen -e | grep -E '^PREVIEWER_' || true); do
    [ -n "${!name+x}" ] && env+=("$name=${!name}")
  done
  chroot "$ROOT" /usr/bin/env -i "${env[@]}" "$@"
}

_debootstrap() {
  if [ -e "$DEBOOTSTRAP_STAMP" ]; then return 0; fi
  if [ -e "$ROOT" ]; then
    log "removing the half-built root $ROOT (no stamp: an interrupted run)"
    rm -rf --one-file-system "$ROOT"
  fi
  mkdir -p "$(dirname "$ROOT")"
  log "debootstrap $SUITE into $ROOT (a few minutes)"
  debootstrap --variant=minbase --components=main "$SUITE" "$ROOT" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1 || {
    tail -n 30 "$ROOT.debootstrap.log" >&2; return 1; }
  # Services are never started inside the root (Orthanc's package would).
  printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
  chmod 755 "$ROOT/usr/sbin/policy-rc.d"
  touch "$DEBOOTSTRAP_STAMP"
}

_packages() {
  local wanted
  wanted=$(echo $PACKAGES)
  if [ "$(cat "$PACKAGES_STAMP" 2>/dev/null)" = "$wanted" ]; then return 0; fi
  log "installing trixie packages: $wanted"
  _in_root dpkg --configure -a
  _in_root apt-get update -qq
  # shellcheck disable=SC2086
  _in_root apt-get install -y -qq --no-install-recommends $wanted >/dev/null
  _in_root apt-get clean
  echo "$wanted" >"$PACKAGES_STAMP"
}

_venv() {
  local wanted
  wanted="$CLONE $(sha256sum "$CLONE/pyproject.toml" | cut -d' ' -f1)"
  if [ "$(cat "$VENV_STAMP" 2>/dev/null)" = "$wanted" ]; then return 0; fi
  log "venv $VENV with trixie's python3, the clone installed editable"
  rm -rf "$ROOT$VENV"
  _in_root /usr/bin/python3 -m venv "$VENV"
  _in_root "$VENV/bin/python" -m pip install -q --upgrade pip
  _in_root "$VENV/bin/python" -m pip install -q -e "$CLONE[test]"
  echo "$wanted" >"$VENV_STAMP"
}

_plugin() {
  local so=$ROOT$BUILD/libOrthancPreviewer.so
  if [ -e "$so" ] && [ -z "$(find "$CLONE/native" "$CLONE/previewer/plugin/explorer.js" "$CLONE/pyproject.toml" "$VENV_STAMP" -newer "$so" -print -quit)" ]; then
    return 0
  fi
  log "building the plugin with $VENV/bin/python into $BUILD"
  _in_root /bin/sh -c "cd '$CLONE' && '$VENV/bin/python' native/build.py build" >"$ROOT$BUILD/build.log" 2>&1 || {
    tail -n 40 "$ROOT$BUILD/build.log" >&2; return 1; }
}

_versions() {
  _in_root /bin/sh -c "dpkg-query -W -f '\${Package} \${Version}\n' orthanc orthanc-python orthanc-dicomweb python3 chromium; \
    /usr/sbin/Orthanc --version | head -n 1" | sed 's/^/compat:   /' >&2
}

# The selection's files that exist, one a line.
_selection() {
  local file
  sed -e 's/#.*//' -e 's/[[:space:]]*$//' "$SELECTION_FILE" | while read -r file; do
    [ -z "$file" ] && continue
    if [ -e "$CLONE/$file" ]; then echo "$file"; else log "$file does not exist: not run"; fi
  done
}

_pytest() {
  local -a args=("$@")
  local status=0
  if [ ${#args[@]} -eq 0 ]; then
    mapfile -t args < <(_selection)
    mkdir -p "$REPORTS"
    args+=(-p no:cacheprovider "--junitxml=$REPORTS/trixie.xml")
  fi
  _in_root /bin/sh -c 'cd "$0" && python=$1 && shift && exec "$python" -m pytest -q "$@"' \
    "$CLONE" "$VENV/bin/python" "${args[@]}" || status=$?
  if [ $# -eq 0 ] && [ -e "$REPORTS/host.xml" ]; then
    log "against the host's last run (make test-compat-host):"
    python3 "$CLONE/tests/compat/compare.py" "$REPORTS/host.xml" "$REPORTS/trixie.xml" || true
  fi
  return $status
}

# Everything that mounts runs here, in the private namespace.
_inside() {
  local action=$1
  shift
  trap _unmount_all EXIT
  trap 'exit 143' TERM
  trap 'exit 130' INT
  trap 'exit 129' HUP
  _debootstrap
  _mount_system
  _packages
  [ "$action" = root ] && return 0
  _mount_work
  _venv
  _plugin
  _versions
  case $action in
    test) _pytest "$@" ;;
    shell) _in_root /bin/bash -c "cd '$CLONE' && exec bash -i" ;;
    run) _in_root /bin/sh -c 'cd "$0" && PATH=$1:$PATH && shift && exec "$@"' "$CLONE" "$VENV/bin" "$@" ;;
  esac
}

main() {
  local action=${1:-}
  case $action in
    root|test|shell|run) shift ;;
    selection) _selection; return ;;
    _inside) shift; _inside "$@"; return ;;
    *) echo "usage: $0 root | test [pytest args...] | shell | run CMD... | selection" >&2; return 2 ;;
  esac
  case $ROOT in
    /?*/*) ;;
    *) echo "compat: PREVIEWER_TRIXIE_ROOT must be an absolute path two levels deep at least: $ROOT" >&2; return 2 ;;
  esac
  case $ROOT/ in
    "$CLONE"/*) echo "compat: the root must be outside the clone: $ROOT" >&2; return 2 ;;
  esac
  [ "$(id -u)" = 0 ] || { echo "compat: needs root (debootstrap, chroot, mount)" >&2; return 1; }
  mkdir -p "$(dirname "$ROOT")"
  local status=0
  # One run at a time per root; the namespace ends with the run, and its mounts with it.
  flock "$LOCK" unshare --mount --propagation private -- "$0" _inside "$action" "$@" || status=$?
  if [ -n "$(_mounts_under_root)" ]; then
    log "mounts left under $ROOT in the host's table:"; _mounts_under_root >&2; status=1
  fi
  return $status
}

main "$@"
