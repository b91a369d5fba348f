# Two commands on a fresh machine: `make demo` and `make test`. Both are idempotent.
PY     ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
FOOTAGE := ../shared/footage
DEMO_CLIP := $(FOOTAGE)/supine_knee_raise_right.mp4

.PHONY: setup models demo test test-fast test-arm64 lint clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $@

setup: $(STAMP)

models: setup
	$(BIN)/hipflex models fetch

# The box on a sample clip, at real-time pace, on mock pins that print every LED and buzzer
# change as it happens; then the coach's report for that session.
demo: models
	mkdir -p out
	$(BIN)/hipflex run --source $(DEMO_CLIP) --feedback timeline --db out/demo.db \
		--events out/demo_events.jsonl --socket out/live.sock
	$(BIN)/hipflex report latest --db out/demo.db --out out/demo_report.html

lint: setup
	$(BIN)/ruff check edge tests bench

test: models lint
	$(BIN)/python -m pytest -q

# The inner loop, under a minute: all but the slow and footage tests (see tests/conftest.py).
test-fast: models lint
	$(BIN)/python -m pytest -q -m "not slow and not footage"

# The box on an emulated arm64 CPU (qemu-user-static, Debian arm64 roots cached in
# /var/cache/hipflex-arm64): README "The emulated arm64 check". Needs root.
ARM64_SUITES ?= bookworm trixie
test-arm64: models
	for suite in $(ARM64_SUITES); do SUITE=$$suite bash tests/arm64/run.sh || exit 1; done

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache

# ---- `sudo make install` / `sudo make uninstall`: the service on a Raspberry Pi -------------
# README "Install on a Raspberry Pi". `sudo make install` adds the hipflex user, installs the
# program (not editable) into a venv at $(PREFIX)/venv that also sees apt's packages (picamera2,
# lgpio), with numpy pinned to apt's python3-numpy, links $(BINDIR)/hipflex, adds the installing
# user (COACH, by default sudo's SUDO_USER) to the hipflex group, and enables the service
# without starting it: `hipflex aim` and `hipflex selftest` come first.
# DESTDIR stages files only: `make install-files DESTDIR=/tmp/stage` (source, unit, config,
# model manifest). No user, venv, models, link or systemctl, so `make install` refuses DESTDIR:
# a venv's scripts would point into the staging root.
# `make uninstall` keeps the config and the history unless PURGE=1.
PREFIX   ?= /opt/hipflex
BINDIR   ?= /usr/local/bin
UNITDIR  ?= /etc/systemd/system
CONFDIR  ?= /etc/hipflex
STATEDIR ?= /var/lib/hipflex
SYSPY    ?= /usr/bin/python3
COACH    ?= $(SUDO_USER)
APP      := $(DESTDIR)$(PREFIX)
HOST     := $(if $(DESTDIR),: not with DESTDIR:,)
# daemon-reload needs a running systemd; enable works without one (an image, a chroot).
RELOAD   := test ! -d /run/systemd/system || systemctl daemon-reload

.PHONY: install in-place install-user install-files install-venv uninstall

install: in-place install-user install-files install-venv
	$(RELOAD)
	systemctl enable hipflex.service
	@echo "hipflex is installed and enabled, not started. Next: hipflex aim, hipflex selftest, then sudo systemctl start hipflex"

in-place:
	@test -z "$(DESTDIR)" || { echo "make: install builds a user and a venv in place; DESTDIR stages files only: make install-files DESTDIR=$(DESTDIR)" >&2; exit 1; }

install-user: in-place
	getent group gpio >/dev/null || groupadd --system gpio
	id -u hipflex >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir $(STATEDIR) --shell /usr/sbin/nologin hipflex
	usermod --append --groups video,gpio hipflex
	install -d -o hipflex -g hipflex -m 750 $(STATEDIR)
	if [ -n "$(COACH)" ] && [ "$(COACH)" != root ]; then usermod --append --groups hipflex $(COACH) && echo "$(COACH) is in the hipflex group now: log in again to use hipflex history, report, export and watch without sudo"; fi

install-files:
	install -d -m 755 $(APP)/src $(APP)/models $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	rm -rf $(APP)/src/edge
	cp -R --parents pyproject.toml README.md hardware.md edge models/manifest.toml $(APP)/src
	find $(APP)/src -name __pycache__ -prune -exec rm -rf {} +
	chmod -R u=rwX,go=rX $(APP)/src
	install -m 644 models/manifest.toml $(APP)/models/manifest.toml
	sed 's|/opt/hipflex|$(PREFIX)|g' systemd/hipflex.service > $(DESTDIR)$(UNITDIR)/hipflex.service
	chmod 644 $(DESTDIR)$(UNITDIR)/hipflex.service
	test -e $(DESTDIR)$(CONFDIR)/config.toml || install -m 644 edge/config/config.example.toml $(DESTDIR)$(CONFDIR)/config.toml

# picamera2 comes from apt (python3-picamera2), hence --system-site-packages, and so does the
# numpy it was built for: numpy is constrained to apt's exact version, which the venv then
# takes from apt instead of installing its own. Models already in this checkout or in
# ../shared/models are reused; `hipflex models fetch` verifies them and downloads the rest.
install-venv: in-place
	test -x $(APP)/venv/bin/python || $(SYSPY) -m venv --system-site-packages $(APP)/venv
	$(APP)/venv/bin/python -m pip install -q --upgrade pip
	$(SYSPY) -c 'import numpy; print("numpy==" + numpy.__version__)' > $(APP)/apt-numpy.txt 2>/dev/null || { echo "make: apt's numpy is missing: sudo apt install python3-numpy (python3-picamera2 brings it)" >&2; exit 1; }
	$(APP)/venv/bin/python -m pip install -q --constraint $(APP)/apt-numpy.txt '$(APP)/src[pi]'
	for f in models/*.tflite ../shared/models/*.tflite; do test -f "$$f" && install -m 644 "$$f" $(APP)/models/ || true; done
	$(APP)/venv/bin/hipflex models fetch
	ln -sfn $(PREFIX)/venv/bin/hipflex $(BINDIR)/hipflex

uninstall:
	$(HOST) systemctl disable --now hipflex.service || true
	rm -f $(DESTDIR)$(UNITDIR)/hipflex.service
	$(HOST) $(RELOAD)
	test -n "$(DESTDIR)" || test "$$(readlink $(BINDIR)/hipflex)" != $(PREFIX)/venv/bin/hipflex || rm -f $(BINDIR)/hipflex
	rm -rf $(APP)
	$(if $(PURGE),rm -rf $(DESTDIR)$(CONFDIR) $(DESTDIR)$(STATEDIR),echo "kept $(CONFDIR) and $(STATEDIR): PURGE=1 removes them")
	$(if $(PURGE),$(HOST) userdel hipflex || true,echo "kept the hipflex user: PURGE=1 removes it")

# ---- Fleet reporting (README "Fleet") ----------------------------------------------------------
# Only while $(CONFDIR)/config.toml has [fleet] enabled = true: paho-mqtt in the venv, and the
# drop-in that lets hipflex.service reach the broker and nothing else (an example:
# systemd/hipflex-fleet.conf). With fleet off the drop-in is removed: no network again.
FLEET_DROPIN := $(DESTDIR)$(UNITDIR)/hipflex.service.d/fleet.conf
PAHO         := paho-mqtt>=2.0,<3

.PHONY: install-fleet uninstall-fleet
install: install-fleet
uninstall: uninstall-fleet

install-fleet: install-files install-venv
	install -d -m 755 $(dir $(FLEET_DROPIN))
	$(APP)/venv/bin/hipflex fleet dropin --config $(CONFDIR)/config.toml > $(FLEET_DROPIN).new
	if [ -s $(FLEET_DROPIN).new ]; then \
		$(APP)/venv/bin/python -m pip install -q '$(PAHO)' && chmod 644 $(FLEET_DROPIN).new && \
		mv $(FLEET_DROPIN).new $(FLEET_DROPIN) && echo "fleet on: $(FLEET_DROPIN) lets hipflex reach the broker"; \
	else rm -f $(FLEET_DROPIN).new $(FLEET_DROPIN); fi
	rmdir --ignore-fail-on-non-empty $(dir $(FLEET_DROPIN))

uninstall-fleet:
	rm -f $(FLEET_DROPIN)
	test ! -d $(dir $(FLEET_DROPIN)) || rmdir --ignore-fail-on-non-empty $(dir $(FLEET_DROPIN))
