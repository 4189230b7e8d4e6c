# Two commands for a new user: `make run` and `make test`. Both install first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Nothing may be fetched at run time: no hub, no tiktoken blobs.
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: install run index test test-fast eval clean soak bench bench-scale

install: $(STAMP)

# The CPU build of torch goes in first: a plain `torch` requirement would pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet torch==2.13.0
	$(BIN)/python -m pip install --quiet -e ".[test,milvus,distributed]"
	touch $(STAMP)

index: install
	$(BIN)/qa index

run: install
	$(BIN)/python app.py

# The browser test drives Debian's Chromium (Playwright cannot download browsers here).
test: install
	sh scripts/install_browser.sh
	$(BIN)/python -m pytest -q

test-fast: install
	$(BIN)/python -m pytest -q -m "not slow"

# The slow reliability runs (RELIABILITY.md): every kill point, 60 s of load, the 10-minute soak,
# 3,000 examples per property.
soak: install
	QA_SOAK=1 $(BIN)/python -m pytest -q -s -m soak
	QA_SOAK=1 $(BIN)/python -m pytest -q tests/test_reliability_properties.py

eval: install
	$(BIN)/qa eval tests/questions/report.jsonl --split test --out runs/eval-test

# Benchmarks (BENCHMARKS.md): the peers (Haystack, txtai, LlamaIndex) are installed here only.
# `make bench` regenerates benchmarks/results/ and BENCHMARKS.md (~15 min on 2 cores);
# `make bench-scale` adds the 1M-chunk run to them (~15 min more).
BENCH_STAMP := $(VENV)/.bench-installed
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e ".[test,milvus,distributed,bench]"
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run

bench-scale: $(BENCH_STAMP)
	$(BIN)/python -m benchmarks.run --only scale --sizes 1000000 --kinds flat,ivf-sq8,ivf-pq --merge

clean:
	rm -rf $(VENV) index/gen-* index/CURRENT
