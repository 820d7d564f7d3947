# make install | test | replicate-background | replicate-dnr | replicate-unified | bench | spread
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# tensorflow[and-cuda] where an NVIDIA driver is present, else tensorflow-cpu
TF_EXTRA := $(shell command -v nvidia-smi >/dev/null 2>&1 && echo gpu || echo cpu)
DATA_DIR ?= $(shell [ -d ../shared/data ] && echo ../shared/data)
PROTOCOL ?=
SEED ?= 0
RUN_ARGS = $(if $(PROTOCOL),--protocol $(PROTOCOL)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(OUT),--out $(OUT)) --seed $(SEED)

.PHONY: install test replicate-background replicate-dnr replicate-unified bench spread clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.py
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(TF_EXTRA),dev]"
	touch $@

test: install
	$(PY) -m pytest -q tests

replicate-background: install
	$(PY) -m replication background $(RUN_ARGS)

replicate-dnr: install
	$(PY) -m replication dnr $(RUN_ARGS)

replicate-unified: install
	$(PY) -m replication unified $(RUN_ARGS)

clean:
	rm -rf $(VENV) *.egg-info

bench: install
	$(PY) -m replication.bench --out results/bench.json

# how far a result moves with the thread count and op determinism alone (needs the MNIST files)
spread: install
	$(PY) -m replication.spread --data-dir $(or $(DATA_DIR),$(error set DATA_DIR)) --out results/spread.json
