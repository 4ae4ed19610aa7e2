# gowsgi: the two commands of the README's quick start are `make demo` and
# `make test`. Everything they need is installed by the targets themselves.

GO      ?= go
VENV    := .venv
PY      := $(VENV)/bin/python
BIN     := bin/gowsgi
ADDR    ?= 127.0.0.1:8000

.PHONY: demo test build venv system fuzz bench clean

# demo: serve testdata/mysite (a real Django project) on http://$(ADDR)
demo: build venv
	$(BIN) serve --http $(ADDR) --chdir testdata/mysite --module mysite.wsgi:application \
		--python $(PY) --processes 2 --threads 2

build:
	$(GO) build -o $(BIN) ./cmd/gowsgi

venv:
	scripts/setup-venv.sh

# system: Debian packages the tests drive for real (nginx, chromium, wrk).
system:
	scripts/setup-system.sh

# test: every test: Go (race detector, real python workers and real Django),
# the Python runtime's own tests on each CPython 3.9-3.13 found, bounded fuzzing.
test: venv system
	$(GO) vet ./...
	GOWSGI_TEST_PYTHON=$(abspath $(PY)) $(GO) test -race -count=1 -timeout 15m ./...
	scripts/test-python.sh $(PY)
	scripts/fuzz.sh 5s

# fuzz: a longer run of every fuzzer (FUZZTIME per fuzzer).
FUZZTIME ?= 60s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin $(VENV)

# bench: gowsgi side by side with uWSGI, gunicorn, granian and runserver
# (about 22 minutes; not part of `make test`). Writes bench/results/latest.*;
# BENCH_ARGS=--quick is a 6-minute smoke run (1 rep of 3 s). See BENCHMARKS.md.
bench:
	bench/setup.sh
	.bench-venv/bin/python bench/run.py $(BENCH_ARGS)

# soak: mixed traffic against a real gowsgi for 10 minutes with worker kills,
# HUPs and hostile requests (not part of `make test`). Writes
# soak/results/latest.json; SOAK_ARGS=-duration=1m is a 1-minute check.
# See soak/README.md.
.PHONY: soak
soak: build venv
	$(GO) build -o bin/soak ./soak
	bin/soak -gowsgi $(BIN) -python $(PY) $(SOAK_ARGS)
