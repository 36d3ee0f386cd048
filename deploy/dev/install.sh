#!/usr/bin/env bash
# Installs what Smiletap's development, demo and tests need on Debian 12 / Python 3.11:
# system packages (Xvfb and xdotool for real kiosk windows, ImageMagick for screenshots,
# CJK fonts for zh-Hant, Chromium for dashboard tests) and a project venv in .venv.
# Idempotent: safe to run again.
set -euo pipefail
cd "$(dirname "$0")/../.."

APT_PACKAGES=(xvfb xauth xdotool imagemagick libmtdev1 fonts-noto-cjk chromium chromium-driver)
# tests/deploy: shell lint, systemd-analyze, nginx in front of gunicorn, pg_dump/pg_restore/psql
APT_PACKAGES+=(shellcheck systemd nginx-light postgresql-client)
# the kiosk as a Pi runs it (tests/e2e/test_kiosk_session.py): the real Xorg server on the dummy
# video driver, xrandr for kiosk-session, xwininfo, xclip for Kivy's cut buffer
APT_PACKAGES+=(xserver-xorg-core xserver-xorg-video-dummy x11-xserver-utils x11-utils xclip)
# wrk drives bench/fleet.py (the device API under a kiosk fleet's request mix).
APT_PACKAGES+=(wrk)
# deploy/dev/arm64_proof.py (run by .ci/run): an arm64 Debian root run through qemu-user
APT_PACKAGES+=(debootstrap qemu-user-static)

# tests/e2e/test_sso_browser.py: a real OpenID provider (npm `oidc-provider`) run by Node.js;
# Debian's packages unless a Node.js with npm is installed already (e.g. from NodeSource).
command -v npm >/dev/null 2>&1 || APT_PACKAGES+=(nodejs npm)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  echo "installing system packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PYTHON=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip 2>&1 | grep -v '^WARNING: Location' || true
.venv/bin/python -m pip install -q -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
KIVY_NO_CONSOLELOG=1 KIVY_NO_ARGS=1 .venv/bin/python -c "import kivy, flask, sqlalchemy, alembic, pydantic, playwright" \
  || { echo "install.sh: the venv is incomplete (see pip's output above)" >&2; exit 1; }
# The test OpenID provider's npm packages, exactly as package-lock.json pins them.
(cd tests/e2e/oidc && npm ci --no-audit --no-fund --silent)
