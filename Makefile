# Two commands for everything: `make demo` and `make test` (both set up .venv first when needed).
# The venv is built from Debian's /usr/bin/python3 so that the unprivileged sandbox users can run it.
PYTHON ?= /usr/bin/python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: setup demo test bench lint typecheck release clean

setup: $(STAMP)

$(STAMP): pyproject.toml requirements.lock scripts/install-system-deps
	scripts/install-system-deps
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c requirements.lock -e '.[test]'
# jupyter-events pulls jsonschema[format-nongpl], whose rfc3987-syntax compiles 39 lark grammars whenever
# jsonschema is imported: ~1 s of CPU in every process that imports nbformat (each course command, each
# grading worker, each nbgrader process). Without it jsonschema only skips the "iri" format checks.
	$(BIN)/python -m pip uninstall --quiet -y rfc3987-syntax lark
	@if [ "$$(id -u)" = 0 ]; then $(BIN)/course sandbox setup; \
	else echo "not root: skipping 'course sandbox setup' (sandboxed grading needs it once, as root)"; fi
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/course demo

test: $(STAMP)
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	$(BIN)/python benchmarks/reference_impl.py --quick
	$(BIN)/python benchmarks/gradebook.py
	$(BIN)/python benchmarks/autograde.py

lint: $(STAMP)
	$(BIN)/ruff check .

# The files and settings are in pyproject.toml ([tool.mypy]).
typecheck: $(STAMP)
	$(BIN)/mypy

# Regenerate the student notebooks in release/ from source/ (CI checks that they are current).
release: $(STAMP)
	for a in $$(ls source); do PATH="$(abspath $(BIN)):$$PATH" COURSE_DATA_DIR=$$(mktemp -d) \
	    $(BIN)/nbgrader generate_assignment $$a --force --log-level=WARN; done

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache
