#!/usr/bin/env bash
# Create .venv and install deepdreamer with its test extras (which bring Ray, for tests/ray). torch
# and torchvision are installed first as the exact CPU-capable pair this project is tested with.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.14.1" "torchvision==0.29.1"
.venv/bin/python -m pip install -q -e ".[test]"
# The browser tests drive Debian's Chromium (never Playwright's own download). CI runs as root.
if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        (apt-get install -y -q chromium >/dev/null 2>&1 || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; })
    else
        echo "note: chromium is not installed (apt-get install chromium); the browser tests need it" >&2
    fi
fi
