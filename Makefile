# One command installs everything, one runs every check (the README documents both;
# .ci/run runs exactly these two).
PYTHON ?= python3

.PHONY: install test

install:
	$(PYTHON) -m pip install --disable-pip-version-check -e '.[dev,distributed]'
	command -v npm >/dev/null || (apt-get update && apt-get install -y nodejs npm)
	command -v redis-server >/dev/null || (apt-get update && apt-get install -y redis-server)
	npm ci --prefix tests/hexo --no-audit --no-fund

test:
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .
	$(PYTHON) -m mypy
	$(PYTHON) -m pytest
