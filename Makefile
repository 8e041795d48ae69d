# firewatch — the two quick-start commands are `make demo` and `make test`.
SWIFT ?= $(shell command -v swift || echo /opt/swift/usr/bin/swift)
DEMO_DB ?= firewatch-demo.db
DEMO_SECONDS ?= 100

.PHONY: all deps test-deps build release demo test bench clean

all: build

deps:
	@bash deploy/install-deps.sh

test-deps:
	@bash deploy/install-deps.sh --test

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

# Seeds a simulated market, runs simulator + edge in one process, prints alarms and hazards,
# and leaves the governance database in $(DEMO_DB).
demo: build
	.build/debug/firewatch demo --db $(DEMO_DB) --duration $(DEMO_SECONDS)
	.build/debug/firewatch hazard list --db $(DEMO_DB)

# Installs what is missing (apt packages, the test-peer venv), builds, runs every test.
test: test-deps
	$(SWIFT) build --build-tests
	FIREWATCH_BIN=$(CURDIR)/.build/debug/firewatch FIREWATCH_PYTHON=$(CURDIR)/.venv/bin/python \
		$(SWIFT) test --skip-build

bench: test-deps release
	bash bench/run-all.sh

clean:
	rm -rf .build $(DEMO_DB) $(DEMO_DB)-wal $(DEMO_DB)-shm firewatch-demo-data
