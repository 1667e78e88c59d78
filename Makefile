# The two commands of the README: `make demo` and `make test`.
# Each creates .venv when missing; a second run reinstalls nothing.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAGEMAKER_STAMP := $(VENV)/.sagemaker
TOOLS := .venv-tools
TOOLS_STAMP := $(TOOLS)/.installed
PYTEST_ARGS ?=

.PHONY: demo test lint unit install tools clean

# The notebooks on the local backend, small sizes; children wait about 100 ms on I/O per
# step, skewed, so the N_TO_N fade and its gain show. Prints the folder of executed
# notebooks (.ipynb and .html) and figures under runs/.
demo: $(STAMP)
	$(BIN)/n2n notebooks run -p id_count 2000 -p ids_per_node 20 -p work '{io_ms_per_id: 5, skew: 1.0}'

test: lint unit

install: $(STAMP)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "n2n-kit needs Python 3.11 or newer: set PYTHON=python3.11 (or newer).")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[notebook,dev]'
	touch $(STAMP)

# The sagemaker extra (heavy: the SageMaker SDK) for the schedule tests, only if it resolves
# alongside the rest; the stamp records the outcome, so a second run tries nothing again.
$(SAGEMAKER_STAMP): $(STAMP)
	@if $(BIN)/python -m pip install --quiet -e '.[notebook,dev,sagemaker]'; then \
		echo installed > $@; \
	else \
		echo "The sagemaker extra does not resolve here: the schedule tests will be skipped."; \
		echo skipped > $@; \
	fi

# Tools whose pins clash with ours (checkov pins its own boto3) live in their own venv:
# checkov, and cdk-nag with aws-cdk-lib (CfnInclude; both need Node.js on PATH).
tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): Makefile
	@command -v node >/dev/null || { echo "cdk-nag needs Node.js on PATH: install Node.js 20 or newer."; exit 1; }
	test -x $(TOOLS)/bin/python || $(PYTHON) -m venv $(TOOLS)
	$(TOOLS)/bin/python -m pip install --quiet --upgrade pip
	$(TOOLS)/bin/python -m pip install --quiet 'checkov>=3.2,<4' 'aws-cdk-lib>=2.170,<3' 'cdk-nag>=2.30,<3'
	touch $(TOOLS_STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

unit: $(STAMP) $(SAGEMAKER_STAMP) $(TOOLS_STAMP)
	N2N_TOOLS=$(abspath $(TOOLS)) $(BIN)/python -m pytest $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(TOOLS) .pytest_cache .ruff_cache
