# The two commands a new user needs: `make chat` and `make test`. Both set up .venv first.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
export GRADIO_ANALYTICS_ENABLED := False
export HF_HUB_OFFLINE := 1

.PHONY: setup setup-llm chat test test-fast soak lint bench eval clean

$(BIN)/assistant: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,formats]'
	@touch $@

setup: $(BIN)/assistant

# llama-cpp-python compiles from source (minutes on 2 cores, once: pip caches the wheel). Best effort: where it
# cannot be built, the llm_server tests skip and say why.
$(VENV)/.llamacpp: $(BIN)/assistant
	$(BIN)/pip install --quiet -e '.[test,formats,llamacpp]' || echo "llama-cpp-python could not be built: llm_server tests will skip"
	@touch $@

setup-llm: $(VENV)/.llamacpp

chat: setup  ## set up, ingest the default corpus and start the web chat on http://127.0.0.1:7860
	$(BIN)/assistant ingest
	$(BIN)/assistant serve

test: setup setup-llm  ## set up and run the whole test suite
	$(BIN)/python -m pytest -q

test-fast: setup  ## everything but the browser and model-server tests
	$(BIN)/python -m pytest -q -m "not browser and not llm_server"

soak: setup  ## the minutes-long tests: 75 s of 16 chat clients, 20,000 tiny files, a 50 MB line
	$(BIN)/python -m pytest -q -s -m soak

lint: setup
	$(BIN)/ruff check .

$(VENV)/.bench: $(BIN)/assistant
	$(BIN)/pip install --quiet -e '.[test,formats,bench]'
	@touch $@

# Both pipelines over every suite and the essay inside 1, 10 and 50 MB of prose, the speed targets and the load
# test; writes benchmarks/results.json, docs/benchmarks.md and the plots. Hours on 2 cores the first time (the
# stores are cached in .bench-cache/ afterwards). `python -m benchmarks --help` runs parts.
bench: $(VENV)/.bench
	$(BIN)/python -m benchmarks

eval: setup
	$(BIN)/assistant eval

clean:
	rm -rf $(VENV) .data evals/*/results
