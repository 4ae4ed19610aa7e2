# gowsgi: the two commands of the README's quick start are `make demo` and
# `make test`. Everything they need is installed by the targets themselves.

GO      ?= go
VENV    := .venv
PY      := $(VENV)/bin/python
# The second test virtualenv: Django 6.x on CPython 3.13 or 3.12.
VENV6   := .venv-django6
PY6     := $(VENV6)/bin/python
BIN     := bin/gowsgi
ADDR    ?= 127.0.0.1:8000

.PHONY: demo test build engine venv venv6 wheel lint-workflows system fuzz bench clean uwsgi-venv uwsgi-goldens uwsgi-options

# demo: serve testdata/mysite (a real Django project) on http://$(ADDR)
demo: build venv
	$(BIN) serve --http $(ADDR) --chdir testdata/mysite --module mysite.wsgi:application \
		--python $(PY) --processes 2 --threads 2

build: engine
	$(GO) build -o $(BIN) ./cmd/gowsgi

venv:
	scripts/setup-venv.sh

venv6:
	scripts/setup-venv-django6.sh

# wheel: the platform wheel for this machine (or GOOS=darwin GOARCH=arm64 ...)
# into dist/: the CGO_ENABLED=0 executable and the gowsgi import package.
wheel:
	GO=$(GO) python3 scripts/build-wheel.py --out dist

# lint-workflows: actionlint (built from the Go module proxy into .tools/)
# over .github/workflows.
lint-workflows:
	scripts/actionlint.sh

# system: Debian packages the tests drive for real (nginx, chromium, wrk).
system:
	scripts/setup-system.sh

# The tests that run a real Django project; `make test` runs them a second
# time with Django 6 ($(PY6)).
DJANGO_TESTS := ^(TestMysite|TestDev|TestCheck|TestTutorialINI|TestLiveReloadInChromium)

# The integration tests of the request path, run a second time on the proxy
# path (GOWSGI_ENGINE=off): the first run serves through the in-worker engine
# wherever it can run.
PROXY_TESTS := ^(TestDevReload|TestDevEndsOldStreamsAfterASwap|TestLiveReloadInChromium|TestApps|TestMysite|TestHostile|TestSlowClients|TestStalledReader|TestWorkerKilled|TestWorkerDiesMidStream|TestManyIdleConnections|TestUwsgiNginx|TestQueueGets|TestTrustedProxies|TestStaticMapOnBothListeners|TestAccessLogFormats|TestHUPUnderLoad|TestHarakiriAndMaxRequests|TestGracefulStop)$$

# test: every test: Go (race detector, real python workers and real Django),
# the Django tests again on Django 6.x, the Python runtime's own tests on each
# CPython 3.9-3.13 found, the wheel installed and used as a user would
# (scripts/test-wheel.sh, on both Djangos), the release workflow linted,
# bounded fuzzing; the ini corpus against real uWSGI (installed into
# .uwsgi-venv when it can be built here, else its committed goldens).
test: venv venv6 system uwsgi-venv engine
	$(GO) vet ./...
	scripts/actionlint.sh
	GOWSGI_TEST_PYTHON=$(abspath $(PY)) $(GO) test -race -count=1 -timeout 15m ./...
	GOWSGI_TEST_PYTHON=$(abspath $(PY6)) $(GO) test -race -count=1 -timeout 10m -run '$(DJANGO_TESTS)' ./...
	GOWSGI_ENGINE=off GOWSGI_TEST_PYTHON=$(abspath $(PY)) $(GO) test -race -count=1 -timeout 10m -run '$(PROXY_TESTS)' ./cmd/... ./master/...
	scripts/test-python.sh $(PY)
	$(PY6) -m unittest discover -s pyworker/python/tests -t pyworker/python -p 'test_django.py'
	scripts/test-wheel.sh $(PY) $(PY6)
	scripts/fuzz.sh 5s

# uwsgi-venv: uWSGI 2.0.31 from PyPI in the git-ignored .uwsgi-venv, for the
# config corpus test (config/corpus_test.go), which compares gowsgi's reading
# of testdata/uwsgi-corpus with uwsgi --get. pip compiles it with gcc and the
# interpreter's headers (Debian: python3-dev) in about 70 s, once. If it cannot
# be installed, the test compares with the committed goldens instead.
UWSGI_VENV := .uwsgi-venv
uwsgi-venv:
	@[ -x $(UWSGI_VENV)/bin/uwsgi ] || { python3 -m venv $(UWSGI_VENV) && \
		PIP_NO_INPUT=1 $(UWSGI_VENV)/bin/pip install --quiet --disable-pip-version-check uwsgi==2.0.31; } || \
		echo "uwsgi-venv: uWSGI could not be installed; the corpus test uses its committed goldens"

# uwsgi-goldens: rewrite testdata/uwsgi-corpus/golden/ from a real uwsgi.
uwsgi-goldens: uwsgi-venv
	$(GO) test -count=1 -run TestCorpus ./config -update-corpus

# uwsgi-options: regenerate config/uwsgi_options.tsv from uwsgi --help, and
# from uWSGI 2.0's source for PCRE/OpenSSL options when UWSGI_SRC names a
# checkout of its uwsgi-2.0 branch (without it those options are dropped).
uwsgi-options: uwsgi-venv
	cd config && $(GO) run gen_uwsgi_options.go -uwsgi ../$(UWSGI_VENV)/bin/uwsgi $(if $(UWSGI_SRC),-src $(UWSGI_SRC)) > uwsgi_options.tsv.new && mv uwsgi_options.tsv.new uwsgi_options.tsv

# fuzz: a longer run of every fuzzer (FUZZTIME per fuzzer).
FUZZTIME ?= 60s
fuzz:
	scripts/fuzz.sh $(FUZZTIME)

clean:
	rm -rf bin dist .tools $(VENV) $(VENV6)

# bench: gowsgi side by side with uWSGI, gunicorn, granian and runserver
# (about 28 minutes; not part of `make test`). Writes bench/results/latest.*;
# BENCH_ARGS=--quick is a smoke run of about 8 minutes (1 rep of 3 s). See BENCHMARKS.md.
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

# engine: the in-worker engine as a C shared library (needs cgo and a C
# compiler: scripts/setup-system.sh installs gcc), embedded by the binary.
ENGINE_LIB := master/enginelib/libgowsgi-engine.so
engine: $(ENGINE_LIB) $(ENGINE_LIB).sha256
$(ENGINE_LIB): $(shell find engine gateway pyworker internal -name '*.go' -not -name '*_test.go') engine/pycall.c engine/pycall.h engine/forks.c engine/forks.h $(wildcard pyworker/python/_gowsgi/*.py) go.mod go.sum
	@command -v $${CC:-gcc} >/dev/null 2>&1 || scripts/setup-system.sh
	CGO_ENABLED=1 $(GO) build -buildmode=c-shared -o $@ ./engine
	rm -f $(ENGINE_LIB:.so=.h)
	$(ENGINE_HASH)
# The hash the master names its cached copy after (master/engine.go), so
# that a start does not read the library: written with the library, by the
# same recipe (and here for a library an older make built without it).
ENGINE_HASH = printf '%s %s %s\n' "$$(sha256sum $(ENGINE_LIB) | cut -d' ' -f1)" "$$(wc -c < $(ENGINE_LIB))" \
	"$$(head -c 4096 $(ENGINE_LIB) | sha256sum | cut -d' ' -f1)" > $(ENGINE_LIB).sha256
$(ENGINE_LIB).sha256: $(ENGINE_LIB)
	$(ENGINE_HASH)
