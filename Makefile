# make install | test | test-fast | lint | replicate-background | replicate-dnr | replicate-unified | bench | spread
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# tensorflow[and-cuda] where an NVIDIA driver is present, else tensorflow-cpu
TF_EXTRA := $(shell command -v nvidia-smi >/dev/null 2>&1 && echo gpu || echo cpu)
DATA_DIR ?= $(shell [ -d ../shared/data ] && echo ../shared/data)
PROTOCOL ?=
SEED ?= 0
RUN_ARGS = $(if $(PROTOCOL),--protocol $(PROTOCOL)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(OUT),--out $(OUT)) --seed $(SEED)

.PHONY: install test test-fast lint example replicate-background replicate-dnr replicate-unified bench spread clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(TF_EXTRA),dev,cluster]"
	touch $@

# everything: unit, data, smoke-pipeline, example and notebook tests (the README's test command; CI)
test: install
	$(PY) -m pytest -q tests

# unit tests on synthetic or bundled data only (no data folder, no pipelines): under 3 minutes
test-fast: install
	$(PY) -m pytest -q -m "not data and not slow and not notebook" tests

lint: install
	$(VENV)/bin/ruff check .

# the library on your own model (examples/defend_your_model.py trains a small one on bundled MNIST digits)
example: install
	$(PY) examples/defend_your_model.py

replicate-background: install
	$(PY) -m replication background $(RUN_ARGS)

replicate-dnr: install
	$(PY) -m replication dnr $(RUN_ARGS)

replicate-unified: install
	$(PY) -m replication unified $(RUN_ARGS)

clean:
	rm -rf $(VENV) *.egg-info

# one core: TF RBF SVM kernels, a PGD iteration, and the attack on the configuration the authors' library secml
# was timed on (published.SECML_REFERENCE), with the speed-up over it
bench: install
	OMP_NUM_THREADS=1 $(PY) -m replication.bench --out results/bench.json $(if $(DATA_DIR),--data-dir $(DATA_DIR))

# how far a result moves with the thread count and op determinism alone (needs the MNIST files)
spread: install
	$(PY) -m replication.spread --data-dir $(or $(DATA_DIR),$(error set DATA_DIR)) --out results/spread.json
