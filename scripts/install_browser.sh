#!/bin/sh
# Install Debian's Chromium for the browser test (tests/test_browser.py), once.
# Idempotent: does nothing when /usr/bin/chromium is already there.
set -eu
CHROMIUM=/usr/bin/chromium
if [ -x "$CHROMIUM" ]; then
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
        echo "install_browser.sh: need root (or sudo) to apt-get install chromium" >&2; exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium
test -x "$CHROMIUM"
