# flatlib: two commands are the contract with users.
#   make reproduce  -- set up .venv if missing, run every notebook, write figures/
#   make test       -- set up .venv if missing, run unit, property and notebook tests
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
JOBS   ?= 2

.PHONY: reproduce test lab bench book clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[notebooks,test,docs]'
	$(PY) -m ipykernel install --sys-prefix --name python3 >/dev/null
	touch $(STAMP)

reproduce: $(STAMP)
	$(PY) -m flatlib reproduce --jobs $(JOBS)

test: $(STAMP)
	$(MAKE) --no-print-directory book  # warnings are errors: a broken reference fails
	$(PY) -m pytest tests flatlib --doctest-modules  # includes tests/test_book.py (headless Chromium)
	if ls notebooks/*.ipynb >/dev/null 2>&1; then \
	  $(PY) -m pytest --nbval --nbval-current-env notebooks --ignore=notebooks/src; fi

lab: $(STAMP)  # JupyterLab on notebooks/ (with --allow-root when run as root)
	$(PY) -m flatlib lab $(LAB_ARGS)

bench: $(STAMP)
	$(PY) benchmarks/bench_max_variation.py
	$(PY) benchmarks/bench_matrix_factorization.py
	$(PY) benchmarks/bench_symmetry_algebra.py

# The book: README, the executed notebooks (committed outputs, not re-run) and the API
# reference, as a static site in build/book/ (open build/book/index.html).
book: $(STAMP)
	$(PY) -m sphinx -E -W --keep-going -q -b html -d build/book-doctrees docs build/book
	@echo "book: build/book/index.html"

clean:
	rm -rf build .pytest_cache .hypothesis
