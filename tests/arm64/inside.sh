#!/bin/bash
# Runs inside the emulated arm64 root (tests/arm64/run.sh), as root: README "Install on a
# Raspberry Pi" as the coach would type it after the apt line, then the checks, one PASS or
# FAIL line each. Outputs for the comparison with x86 go to /home/coach/work.
set -uo pipefail
cd /home/coach
WORK=/home/coach/work
APP=/opt/hipflex
NPZ=shared/footage/reference/$CLIP.npz
failed=0

pass() { echo "PASS $*"; }
fail() { echo "FAIL $*"; failed=1; }
as_coach() { runuser -u coach -- "$@"; }  # a fresh login: group changes apply

echo "arm64 root: $(uname -m), $(. /etc/os-release && echo "$PRETTY_NAME"), $(python3 -V)"

# ---- README: the login user (Raspberry Pi OS's first user) runs `sudo make install` in their
# clone. sudo itself cannot run here (a setuid binary under qemu-user's binfmt handler keeps
# the caller's uid), so root runs make with what sudo sets: SUDO_USER.
# A fresh box every run: what an earlier run installed goes (pip's download cache stays).
rm -rf /opt/hipflex /etc/hipflex /var/lib/hipflex /run/hipflex /usr/local/bin/hipflex \
    /etc/systemd/system/hipflex.service /etc/systemd/system/hipflex.service.d \
    /etc/systemd/system/multi-user.target.wants/hipflex.service
for user in coach hipflex; do userdel "$user" 2>/dev/null; done
for group in hipflex gpio; do groupdel "$group" 2>/dev/null; done
useradd --shell /bin/bash coach
chown -R coach: /home/coach/hipflex /home/coach/work
t0=$SECONDS
if (cd /home/coach/hipflex && SUDO_USER=coach make install) >"$WORK/install.log" 2>&1; then
    pass "sudo make install ($((SECONDS - t0)) s)"
else
    tail -30 "$WORK/install.log"
    fail "sudo make install"
    exit 1
fi

# ---- the install's layout
[ "$(readlink /usr/local/bin/hipflex)" = $APP/venv/bin/hipflex ] &&
    pass "hipflex on PATH: /usr/local/bin/hipflex -> $APP/venv/bin/hipflex" ||
    fail "/usr/local/bin/hipflex is not the venv's hipflex"
id -nG coach | grep -qw hipflex && pass "the installing user (coach) is in the hipflex group" ||
    fail "coach is not in the hipflex group"
grep -q include-system-site-packages\ =\ true $APP/venv/pyvenv.cfg &&
    ! ls $APP/venv/lib/python3*/site-packages/__editable__* >/dev/null 2>&1 &&
    ls -d $APP/venv/lib/python3*/site-packages/edge >/dev/null &&
    pass "non-editable install in a --system-site-packages venv" ||
    fail "the venv is editable or does not see apt's packages"
state=$(systemctl is-enabled hipflex.service 2>&1)
[ "$state" = enabled ] && pass "hipflex.service enabled (not started: no systemd runs here)" ||
    fail "hipflex.service is $state"

# ---- numpy: the venv's is apt's, and apt's numpy extensions import beside it
apt_numpy=$(dpkg-query -W -f '${Version}' python3-numpy | sed 's/^[0-9]*://; s/[-+~].*//')
if out=$($APP/venv/bin/python -c '
import numpy, pywt
assert numpy.__file__.startswith("/usr/lib/python3/dist-packages/"), numpy.__file__
print(numpy.__version__, numpy.__file__, "pywt", pywt.__version__)
' 2>&1) && [ "${out%% *}" = "$apt_numpy" ]; then
    pass "venv numpy is apt's python3-numpy $apt_numpy, and apt's numpy extension imports: $out"
else
    fail "numpy: apt has $apt_numpy, the venv: $out"
fi
# The control: a venv with its own numpy 2, as `pip install .[pi]` made it before, breaks apt's
# numpy extensions the way it breaks simplejpeg (picamera2 issues #1088, #1211). Where apt's
# numpy is 2 already (Trixie) there is no numpy 1 for its Python to break it with.
if [ "${apt_numpy%%.*}" = 1 ]; then
    if [ ! -x /var/tmp/numpy2/bin/python ]; then
        python3 -m venv --system-site-packages /var/tmp/numpy2 &&
            /var/tmp/numpy2/bin/pip install -q 'numpy>=2' >/dev/null 2>&1
    fi
    out=$(/var/tmp/numpy2/bin/python -c 'import pywt' 2>&1 |
        grep -m1 -o 'ValueError: numpy.dtype size changed.*')
    [ -n "$out" ] && pass "control: numpy 2 in a venv breaks apt's extension: $out" ||
        fail "control: numpy 2 in a venv did not break apt's numpy extension"
fi

# ---- the checks, as the coach over SSH would run them
if as_coach hipflex check-config /etc/hipflex/config.toml >"$WORK/check-config.log" 2>&1; then
    pass "hipflex check-config /etc/hipflex/config.toml (the example): $(tail -1 "$WORK/check-config.log")"
else
    fail "hipflex check-config: $(cat "$WORK/check-config.log")"
fi
if as_coach env GPIOZERO_PIN_FACTORY=mock hipflex selftest --feedback mock --runs 2 \
    --source "shared/footage/$CLIP.mp4" >"$WORK/selftest.log" 2>&1; then
    pass "hipflex selftest on mock pins: $(tail -1 "$WORK/selftest.log")"
else
    fail "hipflex selftest: $(tail -5 "$WORK/selftest.log")"
fi
# ---- recordings (storage.record): PyAV's aarch64 wheel encodes H.264 beside apt's numpy
if out=$(as_coach $APP/venv/bin/python -c '
import pathlib, tempfile
import numpy as np
from edge.recorder_encode import H264Writer, probe
path = pathlib.Path(tempfile.mkdtemp()) / "clip.mp4"
writer = H264Writer(path, 15.0, 320, 240)
for i in range(15):
    writer.write(np.full((240, 320, 3), 16 * i, np.uint8))
writer.close()
print(*probe(path))
' 2>&1) && [ "$out" = "h264 15" ]; then
    pass "a recording on arm64: 15 frames written and read back as H.264 (PyAV)"
else
    fail "recording on arm64: $out"
fi
if as_coach $APP/venv/bin/python hipflex/tests/arm64/landmarks.py work \
    >"$WORK/arm64_landmarks.json" 2>"$WORK/landmarks.log"; then
    pass "landmark model on the fixed frame (compared with x86 below)"
else
    fail "landmark model: $(tail -3 "$WORK/landmarks.log")"
fi
if as_coach hipflex analyze --json "$NPZ" >"$WORK/arm64_analyze.json" 2>"$WORK/analyze.log"; then
    pass "hipflex analyze $NPZ (compared with x86 below)"
else
    fail "hipflex analyze: $(tail -3 "$WORK/analyze.log")"
fi

# ---- history over SSH: sessions recorded by the service's user (its umask, 0027), read by
# the coach while the box runs
install -d -o hipflex -g hipflex -m 750 /run/hipflex  # the unit's RuntimeDirectory
box() {  # box SOURCE [ARGS]: hipflex run as the unit runs it; replaces its (sub)shell
    cd /var/lib/hipflex && exec runuser -u hipflex -- bash -c 'umask 0027 &&
        exec hipflex run --feedback mock --no-live-view --source "$@"' box "$@"
}
running() { [ -e "/proc/$1/stat" ] && [ "$(awk '{print $3}' "/proc/$1/stat")" != Z ]; }
(box "/home/coach/$NPZ" --fast) >"$WORK/run.log" 2>&1 &&
    pass "hipflex run as the hipflex user, as the unit runs it" ||
    fail "hipflex run: $(tail -3 "$WORK/run.log")"
# A long set at real-time pace keeps the database open: the reference clip twenty times over.
$APP/venv/bin/python -c '
import sys
import numpy as np
from edge.keypoints import KeypointTrack, load_keypoints, save_keypoints
t = load_keypoints(sys.argv[1])
tile = lambda a: None if a is None else np.concatenate([a] * 20)
save_keypoints(sys.argv[2], KeypointTrack(
    tile(t.keypoints), t.fps, t.width, t.height, t.model, tile(t.landmarks)))
' "$NPZ" "$WORK/long.npz"
chmod 644 "$WORK/long.npz"
box "$WORK/long.npz" >"$WORK/run-live.log" 2>&1 &
live=$!  # runuser, our child: it hands SIGTERM on to hipflex run
for _ in $(seq 120); do
    grep -q '"type": "status"' "$WORK/run-live.log" && break
    running "$live" || break
    sleep 0.5
done
for cmd in "history" "report 1 --out /home/coach/work/report.html" "export --format csv"; do
    if as_coach hipflex $cmd >"$WORK/coach.log" 2>&1 && running "$live"; then
        pass "hipflex ${cmd%% *} as coach, no sudo, while the box runs"
    else
        fail "hipflex $cmd as coach while the box runs: $(tail -1 "$WORK/coach.log" \
            "$WORK/run-live.log")"
    fi
done
kill -TERM "$live"
wait "$live"
# The box stopped cleanly: it left a rollback-journal database, which the coach (who cannot
# create a -shm file in the state directory) can still open read-only.
if out=$(as_coach hipflex history 2>&1); then
    pass "hipflex history as coach, no sudo, with the box stopped"
else
    fail "hipflex history as coach with the box stopped: $out"
fi
exit $failed
