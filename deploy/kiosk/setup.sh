#!/usr/bin/env bash
# Provisions a Smiletap kiosk on Raspberry Pi OS Bookworm (64-bit) or Debian 12:
# system packages for Kivy (SDL2, mtdev, GL, a bare X server, CJK fonts), a `smiletap` user,
# a venv with `.[kiosk]` from this checkout, a systemd unit that starts the kiosk full screen
# at boot and restarts it on a crash, screen blanking off, and enrollment at the end.
#
#   sudo deploy/kiosk/setup.sh --server https://smiletap.example.com --code BCDFG-HJKLM
#   deploy/kiosk/setup.sh --dry-run --server URL --code CODE   # print the plan, change nothing
#   printf '%s\n' "$IT_PIN" | sudo deploy/kiosk/setup.sh --pin-stdin   # set the IT PIN (6+ digits)
#
# The server URL should be https://: the enrollment refuses plain http:// (the device token
# would travel unencrypted) except to this machine, unless --allow-http is given.
#
# Idempotent: run it again after `git pull` to upgrade; a kiosk that is already enrolled is
# not enrolled again. With --dry-run, SMILETAP_ROOT (default empty) prefixes every path the
# script checks, so a test can plan against an empty tree. To prepare an SD-card image, run
# the script inside a chroot of it: without a running systemd it enables the unit by symlink.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/../.." && pwd)
ROOT=${SMILETAP_ROOT:-}
KIOSK_USER=smiletap
HOME_DIR=/var/lib/smiletap
DATA_DIR=$HOME_DIR/kiosk
APP_DIR=/opt/smiletap
VENV=$APP_DIR/venv
UNIT=smiletap-kiosk.service
PYTHON=${PYTHON:-python3}

APT_PACKAGES=(
  python3 python3-venv python3-pip
  # Kivy's wheels bundle SDL2; the system libraries cover a source build and its add-ons.
  libsdl2-2.0-0 libsdl2-image-2.0-0 libsdl2-mixer-2.0-0 libsdl2-ttf-2.0-0
  libmtdev1 libgl1 libgles2 libegl1
  # a bare X server started by systemd (no desktop) as the kiosk user under its logind
  # session (no setuid wrapper), touch through X's libinput, xset for blanking, xrandr for
  # the screen size, xclip for Kivy's cut buffer (without it every start logs a CRITICAL)
  xserver-xorg xserver-xorg-input-libinput xinit x11-xserver-utils xclip
  # real glyphs for zh-Hant and the other kiosk languages
  fonts-noto-cjk fonts-dejavu-core
)

DRY_RUN=0
SERVER=""
CODE=""
ALLOW_HTTP=()
PIN_STDIN=0
IT_PIN=""

usage() {
  sed -n '2,17s/^# \{0,1\}//p' "$0"
  echo "options: --server URL --code CODE (enroll at the end), --allow-http (accept a plain"
  echo "  http:// server URL: the device token travels unencrypted), --pin-stdin (read the IT"
  echo "  PIN, 6-8 digits, from one stdin line: never on the command line), --dry-run, -h|--help"
}

while (($#)); do
  case $1 in
    --server) SERVER=${2:?--server needs a URL}; shift 2 ;;
    --code) CODE=${2:?--code needs a code}; shift 2 ;;
    --allow-http) ALLOW_HTTP=(--allow-http); shift ;;
    --pin-stdin) PIN_STDIN=1; shift ;;
    --dry-run) DRY_RUN=1; shift ;;
    -h | --help) usage; exit 0 ;;
    *) echo "setup.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
if [[ -n $SERVER && -z $CODE ]] || [[ -z $SERVER && -n $CODE ]]; then
  echo "setup.sh: --server and --code go together" >&2
  exit 2
fi
if ((PIN_STDIN)); then
  IFS= read -r IT_PIN || true
  [[ $IT_PIN =~ ^[0-9]{6,8}$ ]] || { echo "setup.sh: the IT PIN must be 6 to 8 digits" >&2; exit 2; }
fi
if ((!DRY_RUN)) && [[ -n $ROOT ]]; then
  echo "setup.sh: SMILETAP_ROOT is for --dry-run; for an image, run this inside a chroot" >&2
  exit 2
fi
if ((!DRY_RUN)) && (($(id -u) != 0)); then
  echo "setup.sh: run as root (sudo), or with --dry-run" >&2
  exit 1
fi

step() { printf '==> %s\n' "$*"; }
note() { printf '    %s\n' "$*"; }

# Runs a command, or in a dry run prints it.
run() {
  if ((DRY_RUN)); then
    note "would run:$(printf ' %q' "$@")"
  else
    "$@"
  fi
}

# Writes standard input to file $1 with mode $2, unless the file already holds exactly that.
put_file() {
  local dest=$ROOT$1 mode=$2 content
  content=$(cat)
  if [[ -f $dest && "$(cat "$dest")" == "$content" ]]; then
    note "unchanged: $1"
  elif ((DRY_RUN)); then
    note "would write: $1 (mode $mode)"
  else
    install -d "$(dirname "$dest")"
    printf '%s\n' "$content" >"$dest"
    chmod "$mode" "$dest"
    note "wrote: $1"
  fi
}

user_exists() {
  if [[ -n $ROOT ]]; then
    grep -q "^$KIOSK_USER:" "$ROOT/etc/passwd" 2>/dev/null
  else
    getent passwd "$KIOSK_USER" >/dev/null
  fi
}

# Whether the kiosk user is listed as a member of group $1.
user_in_group() {
  grep -q "^$1:[^:]*:[^:]*:\(.*,\)\{0,1\}$KIOSK_USER\(,.*\)\{0,1\}\$" "$ROOT/etc/group" 2>/dev/null
}

# Runs a command as the kiosk user with the kiosk's environment.
as_kiosk() {
  runuser -u "$KIOSK_USER" -- env HOME="$HOME_DIR" SMILETAP_KIOSK_DATA_DIR="$DATA_DIR" "$@"
}

step "system packages"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query --admindir="$ROOT/var/lib/dpkg" -W -f='${Status}' "$pkg" 2>/dev/null \
    | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  run apt-get update -q
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  note "all installed"
fi

step "user $KIOSK_USER"
if user_exists; then
  note "exists"
else
  run useradd --system --user-group --create-home --home-dir "$HOME_DIR" \
    --shell /usr/sbin/nologin --comment "Smiletap kiosk" "$KIOSK_USER"
fi
# video/render: the GPU; tty: X on tty7. Not input: X reads the touch panel (through logind),
# and the kiosk reads X only; a kiosk that could open /dev/input would read every touch twice.
run usermod -a -G video,render,tty "$KIOSK_USER"
if user_in_group input; then
  run gpasswd -d "$KIOSK_USER" input
fi
run install -d -m 0750 -o "$KIOSK_USER" -g "$KIOSK_USER" "$ROOT$DATA_DIR"

step "venv $VENV with .[kiosk] from $SRC"
if [[ -x $ROOT$VENV/bin/python ]]; then
  note "venv exists"
else
  run "$PYTHON" -m venv "$ROOT$VENV"
fi
run "$ROOT$VENV/bin/python" -m pip install -q --upgrade pip
run "$ROOT$VENV/bin/python" -m pip install -q --upgrade "${SRC}[kiosk]"

step "kiosk session and environment"
put_file "$APP_DIR/kiosk-session" 0755 <"$SRC/deploy/kiosk/kiosk-session"
# 0640: the file may hold SMILETAP_KIOSK_IT_PIN; systemd reads it as root.
if [[ -f $ROOT/etc/smiletap/kiosk.env ]]; then
  note "kept: /etc/smiletap/kiosk.env"
  [[ $(stat -c %a "$ROOT/etc/smiletap/kiosk.env") == 640 ]] \
    || run chmod 0640 "$ROOT/etc/smiletap/kiosk.env"
else
  put_file /etc/smiletap/kiosk.env 0640 <"$SRC/deploy/kiosk/kiosk.env.example"
fi
# X runs as the kiosk user, never as root: the unit gives it tty7 as its console and a logind
# session, which hands it the GPU and input devices. (Debian's setuid wrapper, where an older
# set-up installed it, is told the same; it used to run X as root for anybody.)
printf 'allowed_users=console\nneeds_root_rights=no\n' | put_file /etc/X11/Xwrapper.config 0644
# A Raspberry Pi 5's display is vc4 behind the modesetting driver (a no-op elsewhere).
put_file /etc/X11/xorg.conf.d/99-smiletap-vc4.conf 0644 <"$SRC/deploy/kiosk/99-smiletap-vc4.conf"

step "systemd unit $UNIT"
put_file "/etc/systemd/system/$UNIT" 0644 <"$SRC/deploy/kiosk/$UNIT"
systemd_up=0
[[ -z $ROOT && -d /run/systemd/system ]] && systemd_up=1
if ((systemd_up)); then
  run systemctl daemon-reload
  run systemctl enable "$UNIT"
  run systemctl set-default multi-user.target
else
  # No running systemd (a chroot or an image): enable by symlink, as systemctl would.
  wants=/etc/systemd/system/multi-user.target.wants
  if [[ -L $ROOT$wants/$UNIT ]]; then
    note "enabled"
  else
    run install -d "$ROOT$wants"
    run ln -sf "/etc/systemd/system/$UNIT" "$ROOT$wants/$UNIT"
  fi
  run ln -sf /lib/systemd/system/multi-user.target "$ROOT/etc/systemd/system/default.target"
fi

step "screen blanking off"
note "X runs with -s 0 -dpms and the session runs xset s off s noblank -dpms"
cmdline=$ROOT/boot/firmware/cmdline.txt # Raspberry Pi OS Bookworm's kernel command line
if [[ ! -f $cmdline ]]; then
  note "no /boot/firmware/cmdline.txt (not a Raspberry Pi): console blanking left as is"
elif grep -q 'consoleblank=0' "$cmdline"; then
  note "console blanking already off"
else
  run sed -i '1s/$/ consoleblank=0/' "$cmdline"
fi

step "enrollment"
if [[ -z $SERVER ]]; then
  note "no --server/--code given: the kiosk shows its setup screen on first start"
elif [[ -x $ROOT$VENV/bin/smiletap-kiosk && -f $ROOT$DATA_DIR/kiosk.db && -z $ROOT ]] \
  && [[ $(as_kiosk "$VENV/bin/smiletap-kiosk" status --json \
    | "$VENV/bin/python" -c 'import json,sys; print(json.load(sys.stdin)["status"])') == ok ]]; then
  note "already enrolled: skipped (revoke it on the server and give a new code to re-enroll)"
else
  run as_kiosk "$VENV/bin/smiletap-kiosk" enroll --server "$SERVER" --code "$CODE" \
    "${ALLOW_HTTP[@]}"
fi

step "IT PIN"
if ((!PIN_STDIN)); then
  note "no --pin-stdin given: the PIN pad opens with SMILETAP_KIOSK_IT_PIN only, if set"
elif ((DRY_RUN)); then
  note "would run: as_kiosk $VENV/bin/smiletap-kiosk enroll --pin-stdin (the PIN on its stdin)"
else
  as_kiosk "$VENV/bin/smiletap-kiosk" enroll --pin-stdin <<<"$IT_PIN"
fi

step "start"
if ((systemd_up)); then
  run systemctl restart "$UNIT"
else
  note "systemd is not running here: the kiosk starts at the next boot"
fi
((DRY_RUN)) && echo "dry run: nothing was changed"
echo "done"
