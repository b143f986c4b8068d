#!/usr/bin/env bash
# The whole story in one command: county, province, two stations and a field laptop on this machine.
# Usage: bash install/demo.sh [--keep DIR] [--json]
set -euo pipefail
source "$(dirname "$0")/env.sh"
ensure_system_packages
ensure_venv ""
cd "$EDGENODE_ROOT"
exec "$VENV/bin/edgenode" demo "$@"
