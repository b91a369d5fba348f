# Two commands on a fresh machine: `make demo` and `make test`. Both are idempotent.
PY     ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
FOOTAGE := ../shared/footage
DEMO_CLIP := $(FOOTAGE)/supine_knee_raise_right.mp4

.PHONY: setup models demo test lint clean

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

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache

# ---- `sudo make install` / `sudo make uninstall`: the service on a Raspberry Pi -------------
# Stages only files, with no user, venv or systemctl, when DESTDIR is set:
#   make install-files DESTDIR=/tmp/stage
# `make uninstall` keeps the config and the history unless PURGE=1.
PREFIX   ?= /opt/hipflex
UNITDIR  ?= /etc/systemd/system
CONFDIR  ?= /etc/hipflex
STATEDIR ?= /var/lib/hipflex
SYSPY    ?= /usr/bin/python3
APP      := $(DESTDIR)$(PREFIX)
HOST     := $(if $(DESTDIR),: not with DESTDIR:,)

.PHONY: install install-user install-files install-venv uninstall

install: install-user install-files install-venv
	$(HOST) systemctl daemon-reload
	$(HOST) systemctl enable hipflex.service
	$(HOST) systemctl restart hipflex.service

install-user:
	$(HOST) getent group gpio >/dev/null || groupadd --system gpio
	$(HOST) id -u hipflex >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir $(STATEDIR) --shell /usr/sbin/nologin hipflex
	$(HOST) usermod --append --groups video,gpio hipflex

install-files:
	install -d -m 755 $(APP)/src $(APP)/models $(DESTDIR)$(UNITDIR) $(DESTDIR)$(CONFDIR)
	rm -rf $(APP)/src/edge
	cp -R --parents pyproject.toml README.md hardware.md edge models/manifest.toml $(APP)/src
	find $(APP)/src -name __pycache__ -prune -exec rm -rf {} +
	chmod -R u=rwX,go=rX $(APP)/src
	sed 's|/opt/hipflex|$(PREFIX)|g' systemd/hipflex.service > $(DESTDIR)$(UNITDIR)/hipflex.service
	chmod 644 $(DESTDIR)$(UNITDIR)/hipflex.service
	test -e $(DESTDIR)$(CONFDIR)/config.toml || install -m 644 edge/config/config.example.toml $(DESTDIR)$(CONFDIR)/config.toml

# picamera2 comes from apt (python3-picamera2), hence --system-site-packages. Models already
# in this checkout are reused; `hipflex models fetch` verifies them and downloads the rest.
install-venv:
	test -x $(APP)/venv/bin/python || $(SYSPY) -m venv --system-site-packages $(APP)/venv
	$(APP)/venv/bin/python -m pip install -q --upgrade pip
	$(APP)/venv/bin/python -m pip install -q -e '$(APP)/src[pi]'
	for f in models/*.tflite ../shared/models/*.tflite; do test -f "$$f" && install -m 644 "$$f" $(APP)/models/ || true; done
	HIPFLEX_MODEL_DIR=$(APP)/models $(APP)/venv/bin/hipflex models fetch

uninstall:
	$(HOST) systemctl disable --now hipflex.service || true
	rm -f $(DESTDIR)$(UNITDIR)/hipflex.service
	$(HOST) systemctl daemon-reload
	rm -rf $(APP)
	$(if $(PURGE),rm -rf $(DESTDIR)$(CONFDIR) $(DESTDIR)$(STATEDIR),echo "kept $(CONFDIR) and $(STATEDIR): PURGE=1 removes them")
	$(if $(PURGE),$(HOST) userdel hipflex || true,echo "kept the hipflex user: PURGE=1 removes it")
