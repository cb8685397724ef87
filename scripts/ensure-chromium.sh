#!/usr/bin/env bash
# The browser tests drive Debian's chromium with playwright-core (Playwright's own browser download
# cannot be fetched here). Installs it when missing; a no-op afterwards.
set -euo pipefail
# A CJK font too, so the Chinese interface renders in screenshots instead of empty boxes.
command -v chromium >/dev/null 2>&1 && fc-list 2>/dev/null | grep -qi 'wqy\|noto.*cjk' && exit 0
sudo_=""
[[ $(id -u) == 0 ]] || sudo_="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo_ apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null 2>&1 || { $sudo_ apt-get update -qq >/dev/null && $sudo_ apt-get install -y -qq chromium fonts-wqy-zenhei >/dev/null; }
echo "chromium: $(chromium --version 2>/dev/null | head -1)"
