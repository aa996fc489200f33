# The few targets a newcomer needs. `make run` starts everything; `make test` tests everything.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | md5sum | cut -c1-12)
# Debian packages the tests run for real: command (or file) -> package. nginx-rtmp is the test
# ingest; Debian's chromium runs the admin page tests (Playwright drives it, never downloading a
# browser). The benchmarks also need ffmpeg and the DejaVu font for their FFmpeg peer.
RTMP_MODULE := /usr/lib/nginx/modules/ngx_rtmp_module.so
TEST_DEBS := redis-server:redis-server nginx:nginx $(RTMP_MODULE):libnginx-mod-rtmp \
	/usr/bin/chromium:chromium /usr/bin/promtool:prometheus
BENCH_DEBS := $(TEST_DEBS) ffmpeg:ffmpeg \
	/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:fonts-dejavu-core

.PHONY: run node test lint bench-api bench-render bench-video bench-tween bench-preview \
	bench-metrics bench-outputs bench-soak bench-startup bench-audio clean

run: $(STAMP) system-deps-run  ## Start the whole system in the foreground (Ctrl-C stops it)
	./deploy/run.sh

test: $(STAMP) system-deps-test  ## Install what the tests need and run them
	@set +e; $(BIN)/pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc

node: $(STAMP)  ## One render node in the foreground against REDIS_URL (another machine's: README, "Add a render machine"); INSTANCE=N
	./deploy/node.sh

lint: $(STAMP)  ## ruff and mypy over the whole tree (mypy strict for core/ and render/)
	$(BIN)/ruff check .
	$(BIN)/mypy

bench-api: $(STAMP) system-deps-test  ## API latency and throughput through HTTP, Celery and Redis; batches of 20
	$(BIN)/python -m bench.api

bench-render: $(STAMP) system-deps-bench  ## Still and video scenes against the FFmpeg peers; 1080p30 for 5 min
	$(BIN)/python -m bench.render
	$(BIN)/python -m bench.render --sustain 300

bench-video: $(STAMP) system-deps-bench  ## The video scene live: 720p30 for 60 s, 1080p30 for 5 min; input latency
	$(BIN)/python -m bench.render --sustain 60 --size 1280x720 --video
	$(BIN)/python -m bench.render --sustain 300 --size 1920x1080 --video
	$(BIN)/python -m bench.inputs

bench-tween: $(STAMP) system-deps-bench  ## A 1280-wide banner tweening across the reference scene every frame, beside FFmpeg; the real worker 2 x 45 s
	$(BIN)/python -m bench.render --scene tween
	$(BIN)/python -m bench.render --sustain 45 --tween under

bench-preview: $(STAMP) system-deps-test  ## Preview latency render -> WebSocket client for 1/10/50 clients
	$(BIN)/python -m bench.preview

bench-metrics: $(STAMP) system-deps-test  ## What metrics cost: per frame, per Redis command, per scrape
	$(BIN)/python -m bench.metrics

bench-outputs: $(STAMP) system-deps-bench  ## CPU per frame with 1, 2 and 4 RTMP outputs, beside FFmpeg's tee
	$(BIN)/python -m bench.outputs

bench-audio: $(STAMP) system-deps-bench  ## Program audio CPU per frame (the DSP, then the real mixer paced 3 x 60 s), beside FFmpeg
	$(BIN)/python -m bench.audio

bench-soak: $(STAMP) system-deps-test  ## make run under 24/7 traffic: each process's memory (MINUTES=15)
	$(BIN)/python -m bench.soak --minutes $(or $(MINUTES),15)

bench-startup: $(STAMP) system-deps-test  ## Frames dropped in the first seconds of a stream, over 5 starts
	$(BIN)/python -m bench.startup

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	rm -f $(VENV)/.installed-* && touch $@

# Install a Debian package only when its command (or file) is missing (needs root or sudo).
# The tests start their own servers, so the packages' daemons must not start: prometheus's would
# take port 9090 (METRICS_PORT). Where the machine has no policy-rc.d, one that denies every
# start (exit 101, honoured by invoke-rc.d and deb-systemd-invoke) is in place during the install.
define need_debs
	@missing=""; for pair in $(1); do cmd=$${pair%%:*}; pkg=$${pair##*:}; \
		{ command -v $$cmd || [ -e $$cmd ]; } >/dev/null 2>&1 || missing="$$missing $$pkg"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian packages:$$missing"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); policy=/usr/sbin/policy-rc.d; \
		if [ ! -e $$policy ]; then printf '#!/bin/sh\nexit 101\n' | $$SUDO tee $$policy >/dev/null && \
			$$SUDO chmod 755 $$policy && trap "$$SUDO rm -f $$policy" EXIT && trap 'exit 130' INT TERM; fi; \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq $$missing; \
	fi
endef

.PHONY: system-deps-run system-deps-test system-deps-bench
system-deps-run:
	$(call need_debs,redis-server:redis-server)

system-deps-test:
	$(call need_debs,$(TEST_DEBS))

system-deps-bench:
	$(call need_debs,$(BENCH_DEBS))

.PHONY: bench-channels
bench-channels: $(STAMP) system-deps-bench  ## 720p30 channels one machine holds with 0 dropped frames, beside real-time FFmpeg peers; failover after kill -9 of a node (WINDOW=60 s)
	$(BIN)/python -m bench.channels --seconds $(or $(WINDOW),60)
