#!/bin/sh
# Installs Debian's chromium for the browser tests (tests/pages/test_browser.py) when it is
# missing; non-interactive and quiet. Playwright's own browser download is not used here.
set -eu

if [ -x /usr/bin/chromium ]; then
    exit 0
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
else
    SUDO="sudo"
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
echo "Installed $(/usr/bin/chromium --version 2>/dev/null)"
