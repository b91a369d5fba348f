#!/usr/bin/env bash
# `make test-arm64`: the box on an emulated arm64 CPU (README "The emulated arm64 check").
#
# qemu-user-static runs a debootstrapped arm64 Debian root, SUITE=bookworm (Python 3.11, apt's
# numpy 1.24) or trixie (3.13, numpy 2.2), as Raspberry Pi OS has them, as a Cortex-A72 (a Pi 4)
# with an ARM /proc/cpuinfo. In it, tests/arm64/inside.sh follows README "Install on a
# Raspberry Pi" as a user named coach and runs the checks; this script then compares the
# landmarks and the analysis with the same code's output on this x86 machine, in the same run.
#
# The root, with pip's cache in it, is kept in $HIPFLEX_ARM64_CACHE (/var/cache/hipflex-arm64):
# outside the checkout, because CI runs in a fresh clone on this same machine, and rebuilt only
# when the suite or the package list below changes. Needs root (debootstrap, chroot, mounts).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${HIPFLEX_SHARED:-$(cd "$REPO/.." && pwd)/shared}
SUITE=${SUITE:-bookworm}
CACHE=${HIPFLEX_ARM64_CACHE:-/var/cache/hipflex-arm64}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
ROOT=$CACHE/$SUITE
# python3-pywt stands in for apt's python3-simplejpeg (Raspberry Pi archive only, out of reach
# here): a Cython extension built against apt's numpy, which fails to import exactly like
# simplejpeg when a venv's numpy 2 shadows apt's numpy 1.24.
PACKAGES=python3,python3-venv,python3-numpy,python3-pywt,make,ca-certificates,sudo,systemd
CLIP=supine_knee_raise_right
START=$SECONDS

say() { printf 'arm64-%s: %s (%d s)\n' "$SUITE" "$*" $((SECONDS - START)); }
die() { printf 'arm64-%s: %s\n' "$SUITE" "$*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot, mounts): sudo make test-arm64"
[ -d "$SHARED/footage" ] || die "no footage in $SHARED (set HIPFLEX_SHARED)"

# ---- the host: qemu-user-static, debootstrap, and the aarch64 binfmt handler
need=()
command -v qemu-aarch64-static >/dev/null || need+=(qemu-user-static)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v update-binfmts >/dev/null || need+=(binfmt-support)
if ((${#need[@]})); then
    say "installing ${need[*]}"
    apt-get update -q >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null
fi
[ -e /proc/sys/fs/binfmt_misc/register ] ||
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ] || update-binfmts --enable qemu-aarch64
grep -qx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64 || die "the qemu-aarch64 binfmt is off"

unmount_all() {  # everything mounted under the root, deepest first
    local m
    for m in $(awk -v r="$ROOT/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
        umount -l "$m" 2>/dev/null || true
    done
}
trap unmount_all EXIT
unmount_all

# ---- the arm64 root, built once
want="$SUITE $PACKAGES"
if [ "$(cat "$ROOT/.hipflex-root" 2>/dev/null)" != "$want" ]; then
    say "debootstrap $SUITE arm64 into $ROOT (cold: a few minutes)"
    mkdir -p "$CACHE"
    rm -rf "$ROOT.tmp"
    if ! debootstrap --arch=arm64 --variant=minbase --include="$PACKAGES" "$SUITE" \
        "$ROOT.tmp" "$MIRROR" >"$ROOT.debootstrap.log" 2>&1; then
        tail -20 "$ROOT.debootstrap.log" >&2
        die "debootstrap failed; the log is $ROOT.debootstrap.log"
    fi
    rm -rf "$ROOT"
    mv "$ROOT.tmp" "$ROOT"
    echo "$want" >"$ROOT/.hipflex-root"
    say "root ready"
fi

# ---- what the root sees: /proc with a Pi 4's cpuinfo, /dev, DNS for pip, the checkout and
# ../shared beside it (read-only), as a coach's clone would be in their home
mount -t proc proc "$ROOT/proc"
cp "$REPO/tests/arm64/cpuinfo-cortex-a72" "$ROOT.cpuinfo"
mount --bind "$ROOT.cpuinfo" "$ROOT/proc/cpuinfo"
mount --bind /dev "$ROOT/dev"
mount -t tmpfs tmpfs "$ROOT/dev/shm"
mount -t tmpfs tmpfs "$ROOT/run"
cp -L /etc/resolv.conf "$ROOT/etc/resolv.conf"
# The host's trust store, so pip in the root reaches PyPI the way this machine does (here
# through a proxy with its own CA); pip in a venv reads it through PIP_CERT.
cp -L /etc/ssl/certs/ca-certificates.crt "$ROOT/etc/ssl/certs/ca-certificates.crt"
HOME_DIR=$ROOT/home/coach
rm -rf "$HOME_DIR/hipflex" "$HOME_DIR/work"
mkdir -p "$HOME_DIR/hipflex" "$HOME_DIR/work" "$HOME_DIR/shared"
# The committed HEAD, as a coach's clone has it (CI's fresh clone: the same as its tree), or
# the tree in $HIPFLEX_ARM64_SRC.
if [ -n "${HIPFLEX_ARM64_SRC:-}" ]; then
    cp -a "$HIPFLEX_ARM64_SRC/." "$HOME_DIR/hipflex"
else
    git -C "$REPO" archive HEAD | tar -xf - -C "$HOME_DIR/hipflex"
fi
mount --bind -o ro "$SHARED" "$HOME_DIR/shared"

# ---- x86 references: the same code (that HEAD, first on the path), in this same run
WORK=$HOME_DIR/work
x86() { PYTHONPATH="$HOME_DIR/hipflex" "$REPO/.venv/bin/python" "$@"; }
x86 "$HOME_DIR/hipflex/tests/arm64/landmarks.py" \
    --extract "$SHARED/footage/$CLIP.mp4" 90 "$WORK" 2>/dev/null
x86 "$HOME_DIR/hipflex/tests/arm64/landmarks.py" "$WORK" >"$WORK/x86_landmarks.json" 2>/dev/null
(cd "$(dirname "$SHARED")" && x86 -m edge analyze --json "shared/footage/reference/$CLIP.npz") \
    >"$WORK/x86_analyze.json"
say "x86 references written"

# ---- inside: the install and the checks, on the emulated Cortex-A72
set +e
QEMU_CPU=cortex-a72 chroot "$ROOT" /usr/bin/env -i \
    PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt PIP_DISABLE_PIP_VERSION_CHECK=1 \
    CLIP="$CLIP" /bin/bash /home/coach/hipflex/tests/arm64/inside.sh 2>&1 | tee "$ROOT.inside.log"
inside=${PIPESTATUS[0]}
set -e
passed=$(grep -c '^PASS ' "$ROOT.inside.log" || true)
failed=$(grep -c '^FAIL ' "$ROOT.inside.log" || true)
[ "$inside" = 0 ] || { failed=$((failed + 1)); echo "FAIL inside.sh exited $inside"; }

# ---- arm64 against x86
check() {  # check NAME COMMAND...: one PASS or FAIL line
    local name=$1
    shift
    if out=$("$@" 2>&1); then
        echo "PASS $name: $out"; passed=$((passed + 1))
    else
        echo "FAIL $name: $out"; failed=$((failed + 1))
    fi
}
if [ -s "$WORK/arm64_landmarks.json" ]; then
    check "landmark model arm64 = x86 within 0.01 px" x86 \
        "$HOME_DIR/hipflex/tests/arm64/landmarks.py" --compare "$WORK/arm64_landmarks.json" \
        "$WORK/x86_landmarks.json" --tol 0.01
else
    echo "FAIL landmarks: no arm64 output"; failed=$((failed + 1))
fi
if [ -s "$WORK/arm64_analyze.json" ]; then
    check "hipflex analyze arm64 byte-identical to x86" \
        cmp "$WORK/arm64_analyze.json" "$WORK/x86_analyze.json"
else
    echo "FAIL hipflex analyze: no arm64 output"; failed=$((failed + 1))
fi
say "done"
echo "arm64-$SUITE: $passed passed, $failed failed"
[ "$failed" = 0 ]
