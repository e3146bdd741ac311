# Koto Portal — developer and CI entry points.
#
#   make run         start the portal in demo mode (embedded PostgreSQL, migrations)
#   make test        everything CI checks (installs what the tests need first)
#   make help        list all targets
#
# Everything this Makefile downloads lives in the git-ignored .cache/ folder
# of the checkout; the Go build and module caches stay at their defaults.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
# Steps of `test` must run one after another (go test's output comes last).
.NOTPARALLEL:

GO ?= go
# Go 1.26.8's standard library has known vulnerabilities in code the portal
# calls (net/http, crypto/tls, html/template…, fixed in later releases), so
# every build and test runs on the newer toolchain, fetched once by the go
# command itself from the module proxy.
GOTOOLCHAIN ?= go1.27.3
export GOTOOLCHAIN

CACHE_DIR := $(CURDIR)/.cache
TOOLS_BIN := $(CACHE_DIR)/bin

# --- pinned tool and data versions -----------------------------------------
GOVULNCHECK_VERSION ?= v1.9.0
STATICCHECK_VERSION ?= v0.8.2
AXE_CORE_VERSION    ?= 4.14.1
# golang.org/x/vulndb is a Go module that carries the OSV reports of the Go
# vulnerability database in data/osv; cmd/indexdb turns them into a database
# govulncheck reads through a file:// URL, so no network DB is needed.
VULNDB_VERSION      ?= v0.0.0-20261105234957-e22db6528018

# Analysis tools must be built by the Go that builds the code (a govulncheck
# built with go1.26 cannot load go1.27 sources), so their stamps name both.
GO_VERSION := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO) env GOVERSION 2>/dev/null)
GOVULNCHECK       := $(TOOLS_BIN)/govulncheck
GOVULNCHECK_STAMP := $(TOOLS_BIN)/.govulncheck-$(GOVULNCHECK_VERSION)-$(GO_VERSION)
STATICCHECK       := $(TOOLS_BIN)/staticcheck
STATICCHECK_STAMP := $(TOOLS_BIN)/.staticcheck-$(STATICCHECK_VERSION)-$(GO_VERSION)

NPM_DIR    := $(CACHE_DIR)/npm
AXE_JS     := $(NPM_DIR)/node_modules/axe-core/axe.min.js
AXE_STAMP  := $(NPM_DIR)/.axe-core-$(AXE_CORE_VERSION)

VULNDB_DIR   := $(CACHE_DIR)/vulndb
VULNDB_STAMP := $(VULNDB_DIR)/.built-$(VULNDB_VERSION)

# Debian packages for the browser tests. The Noto fonts cover the scripts
# the portal is translated into: Latin incl. Vietnamese, Arabic script for
# Arabic, Persian and Kurdish Sorani (fonts-noto-core), and Chinese
# (fonts-noto-cjk).
CHROMIUM       := /usr/bin/chromium
FONT_PACKAGES  := fonts-noto-core fonts-noto-cjk

# --- what the tests get from the environment --------------------------------
# Absolute path of axe-core for tests in any package (go test runs each
# package in its own directory).
KOTO_AXE_JS ?= $(AXE_JS)
export KOTO_AXE_JS
# Browser tests write their screenshots to the top-level screenshots/ folder.
KOTO_SCREENSHOT_DIR ?= $(CURDIR)/screenshots
export KOTO_SCREENSHOT_DIR
export CI

# `make run` starts the demo unless told otherwise: PORTAL_DEMO=0 make run.
PORTAL_DEMO ?= 1
export PORTAL_DEMO

# VULNCHECK_STRICT=0 reports govulncheck findings without failing the run.
VULNCHECK_STRICT ?= 1

# The portal package's browser tests take 10–15 minutes under -race on two
# shared cores; the limit is per package.
TEST_TIMEOUT ?= 30m
TESTFLAGS    ?=
FUZZTIME     ?= 10s
BENCH        ?= .

# Version stamped into the binary; evaluated only when a target uses it.
VERSION ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# All Go files of the module's packages (go list skips testdata/, .cache/,
# and other dot or underscore folders), including build-tagged and test files.
GO_FILES_CMD = $(GO) list -e -f '{{range .GoFiles}}{{printf "%s/%s\n" $$.Dir .}}{{end}}{{range .CgoFiles}}{{printf "%s/%s\n" $$.Dir .}}{{end}}{{range .TestGoFiles}}{{printf "%s/%s\n" $$.Dir .}}{{end}}{{range .XTestGoFiles}}{{printf "%s/%s\n" $$.Dir .}}{{end}}{{range .IgnoredGoFiles}}{{printf "%s/%s\n" $$.Dir .}}{{end}}' ./...

.PHONY: help run build test test-go test-deps browser-deps axe govulncheck staticcheck vulndb \
	fmt fmt-check vet vulncheck lint fuzz bench fonts clean distclean

help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

run: ## run the portal (PORTAL_DEMO=1 by default; other PORTAL_* vars pass through)
	$(GO) run ./cmd/portal serve --migrate

build: ## build bin/portal with the version from git describe
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/portal ./cmd/portal

# --- tests ------------------------------------------------------------------

test: test-deps fmt-check vet vulncheck test-go ## test-deps, gofmt check, go vet, govulncheck, go test -race

test-go: ## go test -race over all packages (no dependency installs)
	$(GO) test -race -count=1 -timeout $(TEST_TIMEOUT) $(TESTFLAGS) ./...

test-deps: browser-deps axe govulncheck vulndb ## install what the tests need (idempotent, quick when done)

fmt: ## gofmt -w the module's Go files
	@$(GO_FILES_CMD) | xargs -r gofmt -w

fmt-check: ## fail if gofmt would change a file
	@out=$$($(GO_FILES_CMD) | xargs -r gofmt -l | sed 's|^$(CURDIR)/||'); \
	if [ -n "$$out" ]; then \
		echo "gofmt: these files need formatting (run 'make fmt'):" >&2; \
		echo "$$out" >&2; \
		exit 1; \
	fi; \
	echo "gofmt: ok"

vet: ## go vet ./...
	$(GO) vet ./...

vulncheck: $(GOVULNCHECK_STAMP) $(VULNDB_STAMP) ## govulncheck against the offline vulnerability DB
	@echo "govulncheck -db file://$(VULNDB_DIR) ./..."
	@rc=0; $(GOVULNCHECK) -db file://$(VULNDB_DIR) ./... || rc=$$?; \
	if [ $$rc -eq 3 ] && [ "$(VULNCHECK_STRICT)" = 0 ]; then \
		echo "govulncheck: WARNING: vulnerabilities found (above); not failing because VULNCHECK_STRICT=0" >&2; \
	elif [ $$rc -ne 0 ]; then exit $$rc; fi

lint: fmt-check vet staticcheck ## gofmt check, go vet and staticcheck
	$(STATICCHECK) ./...

fuzz: ## run every Fuzz* target for FUZZTIME (default 10s) each
	@targets=$$($(GO) test -list '^Fuzz' ./... | awk ' \
		/^Fuzz/ { names = names " " $$1; next } \
		/^ok/   { if (names != "") print $$2 names; names = "" }'); \
	if [ -z "$$targets" ]; then echo "fuzz: no Fuzz targets found"; exit 0; fi; \
	while read -r pkg names; do \
		for name in $$names; do \
			echo "fuzz: $$pkg $$name for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) "$$pkg"; \
		done; \
	done <<< "$$targets"

bench: ## run all benchmarks once, with allocations
	$(GO) test -run '^$$' -bench '$(BENCH)' -benchmem ./...

# --- generated files ----------------------------------------------------------

# The web fonts in static/fonts are subsets of Debian's Noto fonts for the
# characters the visitors' pages use; rerun after a translation adds Chinese
# characters (the other scripts are kept whole). Debian's python3, since its
# fontTools is the packaged one.
FONT_PYTHON ?= /usr/bin/python3

fonts: ## regenerate the subset web fonts (static/fonts, css/fonts.css) from Debian's Noto fonts
	@$(FONT_PYTHON) -c 'import fontTools.subset, brotli' 2>/dev/null || { \
		echo "fonts: needs Debian's python3-fonttools and python3-brotli (and $(FONT_PACKAGES)): apt-get install python3-fonttools python3-brotli $(FONT_PACKAGES)" >&2; exit 1; }
	$(FONT_PYTHON) static/fonts/subset.py
	@cat static/fonts/fonts.txt

# --- installs -----------------------------------------------------------------

# Chromium and fonts from Debian, only what is missing. Not root: sudo.
browser-deps:
	@pkgs=""; \
	[ -x $(CHROMIUM) ] || pkgs="chromium"; \
	if command -v dpkg-query >/dev/null 2>&1; then \
		for p in $(FONT_PACKAGES); do \
			dpkg-query -W -f='$${Status}' "$$p" 2>/dev/null | grep -q ' installed$$' || pkgs="$$pkgs $$p"; \
		done; \
	fi; \
	pkgs=$${pkgs# }; \
	[ -n "$$pkgs" ] || exit 0; \
	if ! command -v apt-get >/dev/null 2>&1; then \
		echo "test-deps: missing $$pkgs and no apt-get here: install Chromium ($(CHROMIUM)) and Noto fonts by hand" >&2; \
		exit 1; \
	fi; \
	if [ "$$(id -u)" -eq 0 ]; then sudo=""; \
	elif command -v sudo >/dev/null 2>&1; then \
		if [ -t 0 ]; then sudo="sudo"; else sudo="sudo -n"; fi; \
	else \
		echo "test-deps: need root to install Debian packages ($$pkgs): not root and no sudo; run as root: apt-get install --no-install-recommends $$pkgs" >&2; \
		exit 1; \
	fi; \
	echo "test-deps: installing Debian packages: $$pkgs"; \
	$$sudo apt-get update -q || echo "test-deps: apt-get update reported errors; trying the install anyway" >&2; \
	$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
		-o DPkg::Lock::Timeout=300 $$pkgs; \
	[ -x $(CHROMIUM) ] || { echo "test-deps: $(CHROMIUM) still missing after install" >&2; exit 1; }

axe: $(AXE_STAMP) ## axe-core from npm into .cache/npm

$(AXE_STAMP):
	@command -v npm >/dev/null 2>&1 || { echo "test-deps: npm is needed to fetch axe-core" >&2; exit 1; }
	@mkdir -p $(NPM_DIR)
	npm install --prefix $(NPM_DIR) --cache $(CACHE_DIR)/npm-cache \
		--no-audit --no-fund --no-update-notifier --ignore-scripts --save-exact --loglevel=error \
		axe-core@$(AXE_CORE_VERSION)
	@test -s $(AXE_JS) || { echo "test-deps: $(AXE_JS) missing after npm install" >&2; exit 1; }
	@touch $@

govulncheck: $(GOVULNCHECK_STAMP) ## govulncheck into .cache/bin

$(GOVULNCHECK_STAMP):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install golang.org/x/vuln/cmd/govulncheck@$(GOVULNCHECK_VERSION)
	@rm -f $(TOOLS_BIN)/.govulncheck-*
	@touch $@

staticcheck: $(STATICCHECK_STAMP) ## staticcheck into .cache/bin

$(STATICCHECK_STAMP):
	@mkdir -p $(TOOLS_BIN)
	GOBIN=$(TOOLS_BIN) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	@rm -f $(TOOLS_BIN)/.staticcheck-*
	@touch $@

vulndb: $(VULNDB_STAMP) ## offline Go vulnerability DB into .cache/vulndb

# Built into a temporary folder and moved into place, so an interrupted build
# never leaves a half-written DB behind a stamp.
$(VULNDB_STAMP):
	@echo "vulndb: building from golang.org/x/vulndb@$(VULNDB_VERSION) (once per version)"
	$(GO) mod download golang.org/x/vulndb@$(VULNDB_VERSION)
	@src=$$($(GO) list -m -f '{{.Dir}}' golang.org/x/vulndb@$(VULNDB_VERSION)); \
	test -d "$$src/data/osv" || { echo "vulndb: no data/osv in '$$src'" >&2; exit 1; }; \
	rm -rf $(VULNDB_DIR).tmp; \
	$(GO) run golang.org/x/vulndb/cmd/indexdb@$(VULNDB_VERSION) -vulns "$$src/data/osv" -out $(VULNDB_DIR).tmp; \
	test -s $(VULNDB_DIR).tmp/index/modules.json || { echo "vulndb: index missing" >&2; exit 1; }; \
	rm -rf $(VULNDB_DIR); \
	mv $(VULNDB_DIR).tmp $(VULNDB_DIR); \
	echo "vulndb: $$(ls $(VULNDB_DIR)/ID | grep -c '\.json$$') reports in $(VULNDB_DIR)"
	@touch $@

# --- cleaning ---------------------------------------------------------------

clean: ## remove build and test outputs (keeps .cache/)
	rm -rf bin screenshots
	find . -path ./.cache -prune -o \( -name '*.test' -o -name '*.out' \) -type f -print -exec rm -f {} +

distclean: clean ## clean, and remove the downloaded tools and data in .cache/
	rm -rf $(CACHE_DIR)
