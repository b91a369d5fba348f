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

demo: models
	mkdir -p out
	$(BIN)/hipflex pose $(DEMO_CLIP) --out out/demo.npz --overlay out/demo_overlay.mp4

lint: setup
	$(BIN)/ruff check edge tests bench

test: models lint
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) out .pytest_cache .ruff_cache
