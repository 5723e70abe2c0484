# adhouse: `make demo` runs the main job end to end, `make test` runs every test.
# Both install what they need: the pinned ClickHouse engine from npm, the linter,
# and for the tests Debian's ZooKeeper.

GO        ?= go
LIBCHDB   := tools/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so
STATICCHECK_VERSION := v0.8.2
STATICCHECK := tools/bin/staticcheck
BIN       := bin/adhouse
GOTEST_FLAGS ?= -race -count=1 -timeout 40m

.PHONY: all tools build demo test lint vet fmt-check tidy-check unit bench chaos alerts clean warehouse-start warehouse-stop

all: build

tools: $(LIBCHDB) $(STATICCHECK)

# The engine (566 MB) comes from npm, exactly pinned by the committed lock file.
$(LIBCHDB): tools/chdb/package.json tools/chdb/package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed to install the ClickHouse engine (apt-get install npm)"; exit 1; }
	cd tools/chdb && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@test -f $(LIBCHDB) && touch $(LIBCHDB)

$(STATICCHECK):
	GOBIN=$(CURDIR)/tools/bin $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

# Debian's ZooKeeper, for the test that checks the replicated cluster DDL
# against a real Keeper (schema/keeper_test.go); only the tests need it. The
# package's configuration is the target: the jar alone comes from a library
# package, without the server's configuration or Java.
ZOOKEEPER := /etc/zookeeper/conf/zoo.cfg
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo -n)

$(ZOOKEEPER):
	@command -v apt-get >/dev/null || { echo "ZooKeeper is needed by schema/keeper_test.go: install Debian's zookeeper package"; exit 1; }
	$(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq zookeeper || { echo "installing ZooKeeper needs root: run sudo apt-get install zookeeper"; exit 1; }

VERSION   ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null)

build:
	$(GO) build -ldflags "-X github.com/adhouse/adhouse/etl/warehouse.Version=$(VERSION) -X main.buildCommit=$(COMMIT)" -o $(BIN) ./cmd/adhouse

demo: $(LIBCHDB) build
	$(BIN) demo

lint: vet fmt-check tidy-check $(STATICCHECK)
	$(STATICCHECK) ./...

# go.mod must say what the code imports directly.
tidy-check:
	@$(GO) mod tidy -diff || { echo "go.mod/go.sum are not tidy: run go mod tidy"; exit 1; }

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

# Every test, against a real embedded ClickHouse over native and HTTP.
test: tools $(ZOOKEEPER) build lint
	CI=$${CI:-true} scripts/with-warehouse $(GO) test $(GOTEST_FLAGS) ./...

# Unit tests only (no engine): what a quick edit loop needs.
unit:
	$(GO) test -short ./...

bench: tools build
	scripts/with-warehouse scripts/bench

# The reliability suite alone (it is also part of `make test`), printing its
# figures: faults injected, kills survived, rows compared, rows lost.
chaos: tools build
	CI=$${CI:-true} scripts/with-warehouse scripts/chaos

# The example alert rules (docs/alerts.yml) against their promtool unit
# tests; the same promtool is pinned in etl/schedule/alerts_test.go, whose
# tests also run the rules on a real daemon's /metrics.
PROMTOOL := github.com/prometheus/prometheus/cmd/promtool@v0.316.0
alerts:
	cd docs && $(GO) run $(PROMTOOL) check rules alerts.yml && $(GO) run $(PROMTOOL) test rules alerts.test.yml

warehouse-start: $(LIBCHDB) build
	$(BIN) warehouse start

warehouse-stop: build
	$(BIN) warehouse stop

clean:
	rm -rf bin var
