# make install | test | test-fast | lint | replicate-background | replicate-dnr | replicate-unified | replicate-dnr-sign | status | bench | bench-secml | spread
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# tensorflow[and-cuda] where an NVIDIA driver is present, else tensorflow-cpu
TF_EXTRA := $(shell command -v nvidia-smi >/dev/null 2>&1 && echo gpu || echo cpu)
DATA_DIR ?= $(shell [ -d ../shared/data ] && echo ../shared/data)
PROTOCOL ?=
SEED ?= 0
RUN_ARGS = $(if $(PROTOCOL),--protocol $(PROTOCOL)) $(if $(DATA_DIR),--data-dir $(DATA_DIR)) $(if $(OUT),--out $(OUT)) --seed $(SEED)

.PHONY: install test test-fast lint example replicate-background replicate-dnr replicate-unified replicate-dnr-sign status bench bench-secml spread clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[$(TF_EXTRA),dev,cluster]"
	touch $@

# everything: unit, data, smoke-pipeline, example and notebook tests (the README's test command; CI), in
# TEST_WORKERS pytest-xdist processes (0: in this one); the tests sharing a smoke run share a worker (tests/conftest.py)
TEST_WORKERS ?= 2
test: install
	$(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup tests

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

# beyond the papers: which of network epochs, SVM training digits and layers moves the sign of DNR - NR
replicate-dnr-sign: install
	$(PY) -m replication dnr-sign $(RUN_ARGS)

# what the ledger (reports/) holds of the paper protocols, and the CPU-hours left
status: install
	$(PY) -m replication status

clean:
	rm -rf $(VENV) $(SECML_VENV) *.egg-info

# one core: the attack on the configuration the authors' library secml was timed on (1,000 and 10,000 SVM digits, and
# the paper's MNIST layers), float64 and float32 search, one iteration's efficiency, kernels and training; when
# make bench-secml has made secml's environment, secml's bench runs beside it (one core each) and the speed-ups come
# from that run (else from results/bench_secml.json, else published.SECML_REFERENCE)
bench: install
	OMP_NUM_THREADS=1 $(PY) -m replication.bench --out results/bench.json $(if $(DATA_DIR),--data-dir $(DATA_DIR))

# the authors' library itself on the bench configuration, at 1,000 and at the paper's 10,000 SVM training images, one
# core, in its own environment (secml 0.15.6 needs Python <= 3.10): make bench then takes its ratios against these
SECML_PYTHON ?= $(shell for p in python3.10 python3.9 $$HOME/.pyenv/versions/3.10*/bin/python $$HOME/.pyenv/versions/3.9*/bin/python; do $$p -c '' >/dev/null 2>&1 && { echo $$p; break; }; done)
SECML_VENV := .venv-secml
bench-secml:
	@test -n "$(SECML_PYTHON)" || { echo "bench-secml needs Python 3.9 or 3.10 (set SECML_PYTHON)"; exit 1; }
	test -x $(SECML_VENV)/bin/python || $(SECML_PYTHON) -m venv $(SECML_VENV)
	$(SECML_VENV)/bin/python -m pip install -q -r benchmarks/requirements-secml.txt
	$(SECML_VENV)/bin/python benchmarks/secml_dnr.py --out results/bench_secml.json $(if $(DATA_DIR),--data-dir $(DATA_DIR))

# how far a result moves with the thread count and op determinism alone (needs the MNIST files)
spread: install
	$(PY) -m replication.runs.spread --data-dir $(or $(DATA_DIR),$(error set DATA_DIR)) --out results/spread.json
