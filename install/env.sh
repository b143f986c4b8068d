# Sourced by the install/ scripts: find Python >= 3.11, make .venv, install edgenode into it.
# Re-installs only when pyproject.toml changed. Safe to run again and again.
set -euo pipefail

EDGENODE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$EDGENODE_ROOT/.venv"

find_python() {
  for candidate in python3.13 python3.12 python3.11 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  echo "edgenode 需要 Python 3.11 或更高版本 (edgenode needs Python >= 3.11)" >&2
  return 1
}

ensure_venv() {
  local extras="$1" stamp="$VENV/.edgenode-installed-$1"
  # the test install includes the runtime one
  if [ -z "$extras" ] && [ -f "$VENV/.edgenode-installed-test" ] && [ ! "$EDGENODE_ROOT/pyproject.toml" -nt "$VENV/.edgenode-installed-test" ]; then
    stamp="$VENV/.edgenode-installed-test"
  fi
  if [ ! -x "$VENV/bin/python" ]; then
    echo "[set-up] creating $VENV"
    "$(find_python)" -m venv "$VENV"
  fi
  if [ ! -f "$stamp" ] || [ "$EDGENODE_ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "[set-up] installing edgenode and its dependencies (${extras:-runtime}); log: $VENV/install.log"
    if ! { "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip &&
           "$VENV/bin/python" -m pip install --disable-pip-version-check -e "$EDGENODE_ROOT${extras:+[$extras]}"; } \
         >"$VENV/install.log" 2>&1; then
      tail -n 30 "$VENV/install.log" >&2
      echo "[set-up] 安装依赖失败，详见 $VENV/install.log (dependency install failed)" >&2
      return 1
    fi
    touch "$stamp"
  fi
  export PATH="$VENV/bin:$PATH"
}

# System packages: the CJK font that seal images, notices and the web UI use (Debian/UOS/Kylin); for the
# test set-up (install/test.sh) also Debian's chromium, which the browser tests drive (never a downloaded one).
ensure_system_packages() {
  local missing=()
  [ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || missing+=(fonts-wqy-microhei)
  if [ "$(basename "$0")" = test.sh ] && [ ! -x /usr/bin/chromium ]; then
    missing+=(chromium)
  fi
  [ ${#missing[@]} -eq 0 ] && return 0
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "[set-up] installing ${missing[*]}"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  elif command -v apt-get >/dev/null 2>&1 && command -v sudo >/dev/null 2>&1; then
    echo "[set-up] installing ${missing[*]} (sudo)"
    sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[set-up] 请安装 ${missing[*]}（中文字体也可设置 EDGENODE_SEAL_FONT 指向一个中文 TrueType 字体）" >&2
  fi
}
