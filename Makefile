# rstdoctor — the two commands that do everything:
#   make run    installs what is missing, builds, and runs `rstdoctor check` on this host
#   make test   installs what is missing, builds, and runs the whole test suite
SHELL := /bin/bash
PREFIX ?= /usr/local
SWIFT ?= swift
APT_PACKAGES := libreadline-dev libpcap-dev nftables iptables iproute2 arping tcpdump tshark python3 procps util-linux kmod bc time python3-prometheus-client python3-yaml libsqlite3-dev prometheus chromium
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ARGS ?=
# A module may import only the targets Package.swift lists for it (docs/architecture.md).
SWIFT_FLAGS ?= --explicit-target-dependency-import-check=error

.PHONY: run test deps embed build release install uninstall lint bench fuzz clean test-browser format format-check man completions

# The binary carries checks/ and knowledge/ (Sources/RSTDData/EmbeddedData.swift).
embed:
	@sh scripts/embed.sh . Sources/RSTDData

deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  echo "wireshark-common wireshark-common/install-setuid boolean false" | $(SUDO) debconf-set-selections && \
	  $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

build: deps embed
	$(SWIFT) build $(SWIFT_FLAGS)

release: deps embed
	$(SWIFT) build -c release $(SWIFT_FLAGS)

# Exit code 1 from `check` means "a likely cause found", not a failed build.
run: release
	@.build/release/rstdoctor check $(ARGS); rc=$$?; [ $$rc -le 1 ] || exit $$rc

test: deps embed
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build

lint: build
	.build/debug/rstdoctor knowledge lint

# swift-format (ships with the toolchain) with .swift-format: `format` rewrites the files given
# (FILES=..., default the whole tree), `format-check` only reports. Lines stay under 140 characters
# in Sources/ either way: Tests/ArchitectureTests/LineLengthTests.swift fails on new long lines.
FILES ?= Package.swift Sources Tests
format:
	$(SWIFT) format --in-place --recursive --parallel $(FILES)

format-check:
	$(SWIFT) format lint --recursive --parallel $(FILES)

# The man page, from the command definitions (swift-argument-parser's generate-manual plugin).
MANPAGE := .build/plugins/GenerateManual/outputs/rstdoctor/rstdoctor.1
man: release
	$(SWIFT) package plugin generate-manual

# Shell completions from the same definitions; values (formats, check ids, answers, namespaces,
# listening ports) are completed by asking rstdoctor itself when Tab is pressed.
completions: release
	install -d .build/completions
	.build/release/rstdoctor --generate-completion-script bash > .build/completions/rstdoctor.bash
	.build/release/rstdoctor --generate-completion-script zsh > .build/completions/_rstdoctor
	.build/release/rstdoctor --generate-completion-script fish > .build/completions/rstdoctor.fish

install: release man completions
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/rstdoctor $(DESTDIR)$(PREFIX)/share/man/man1 \
	  $(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/share/zsh/site-functions \
	  $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d
	install -m 0755 .build/release/rstdoctor $(DESTDIR)$(PREFIX)/bin/rstdoctor
	cp -R checks knowledge $(DESTDIR)$(PREFIX)/share/rstdoctor/
	install -m 0644 $(MANPAGE) $(DESTDIR)$(PREFIX)/share/man/man1/rstdoctor.1
	install -m 0644 .build/completions/rstdoctor.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/rstdoctor
	install -m 0644 .build/completions/_rstdoctor $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_rstdoctor
	install -m 0644 .build/completions/rstdoctor.fish $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/rstdoctor.fish

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/rstdoctor $(DESTDIR)$(PREFIX)/share/man/man1/rstdoctor.1
	rm -f $(DESTDIR)$(PREFIX)/share/bash-completion/completions/rstdoctor $(DESTDIR)$(PREFIX)/share/zsh/site-functions/_rstdoctor
	rm -f $(DESTDIR)$(PREFIX)/share/fish/vendor_completions.d/rstdoctor.fish
	rm -rf $(DESTDIR)$(PREFIX)/share/rstdoctor

bench: release
	bench/run

# Only the HTML report's tests in a real headless Chromium (`make test` runs them too; deps installs the
# Debian chromium package). The screenshots are kept in .build/report-browser/.
test-browser: deps embed
	$(SWIFT) build --build-tests $(SWIFT_FLAGS)
	$(SWIFT) test --skip-build --filter ReportBrowserTests

# libFuzzer + AddressSanitizer over every parser of untrusted input (fuzz/run.sh, Sources/RSTDoctorFuzz):
# prints `TARGET: N execs, K crashes` per target. FUZZ_TARGETS="packet ss" runs only those; FUZZ_JOBS=2
# runs two targets at a time.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
FUZZ_JOBS ?= 1
fuzz: deps embed
	@FUZZ_JOBS=$(FUZZ_JOBS) bash fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

clean:
	rm -rf .build
