# The verbs people type. `make help` lists them.
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
CONFIGURATION ?= debug
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
LIBEXECDIR ?= $(PREFIX)/libexec/trainingd
UNITDIR ?= $(PREFIX)/lib/systemd/system
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
MANDIR ?= $(PREFIX)/share/man
DOCDIR ?= $(PREFIX)/share/doc/trainingd
SYSCONFDIR ?= /etc
# Release binaries carry the Swift runtime and Foundation in themselves (jobctl libstdc++ too) instead
# of loading them at every start: jobctl's start is most of a `jobctl submit`, and the daemon runs
# itself as each job's staging, Pipe and packaging worker (scripts/release-flags.sh; bench/RESULTS.md,
# "The starts of trainingd's executables").
RELEASE = $(shell scripts/release-flags.sh)

# Everything `make install` puts down, relative to $(DESTDIR); `make uninstall` removes exactly these.
INSTALLED = $(SBINDIR)/trainingd $(BINDIR)/jobctl $(LIBEXECDIR)/trainingd-keeper \
	$(UNITDIR)/trainingd.service $(UNITDIR)/trainingd.socket \
	$(TMPFILESDIR)/trainingd.conf $(SYSUSERSDIR)/trainingd.conf \
	$(MANDIR)/man1/trainingd.1 $(MANDIR)/man1/jobctl.1 \
	$(DOCDIR)/examples/linear-regression.json $(DOCDIR)/examples/linear-regression/train.py \
	$(DOCDIR)/examples/linear-regression/data/train/train.csv

.PHONY: help build release test quickstart completions man bench clean install uninstall

help:
	@echo "make build       build everything (debug)"
	@echo "make test        run the whole test suite"
	@echo "make quickstart  install missing packages, build, run the example job in ./demo"
	@echo "make release     build release binaries"
	@echo "make completions bash, zsh and fish completions for jobctl in share/completions/"
	@echo "make man         man pages of jobctl and trainingd (from their command definitions) in share/man/"
	@echo "make bench       run the benchmarks (minutes; rewrites bench/RESULTS.md)"
	@echo "make install     release binaries, systemd units, tmpfiles/sysusers files, config, man pages (PREFIX, DESTDIR)"
	@echo "make uninstall   remove what make install put down (the configuration only if unchanged)"
	@echo "make clean       remove build products"

build:
	$(SWIFT) build -c $(CONFIGURATION)

release:
	$(SWIFT) build $(RELEASE)

# One build, two processes: the end-to-end tests block Swift Testing's cooperative threads while
# they wait on the real daemon, and on a 2-core machine that starved the async runtime tests'
# timers (a job's exit "not delivered within 10 s"). Each layer runs in a process of its own.
test:
	scripts/test-tools.sh
	$(SWIFT) test --skip EndToEndTests
	$(SWIFT) test --skip-build --filter EndToEndTests

quickstart:
	scripts/quickstart.sh

completions: build
	mkdir -p share/completions
	for shell in bash zsh fish; do \
		$$($(SWIFT) build --show-bin-path)/jobctl --generate-completion-script $$shell > share/completions/jobctl.$$shell; \
	done

man:
	$(SWIFT) package generate-manual
	mkdir -p share/man/man1
	cp .build/plugins/GenerateManual/outputs/jobctl/jobctl.1 .build/plugins/GenerateManual/outputs/trainingd/trainingd.1 share/man/man1/

bench:
	bench/run.sh

install: release man
	bin=$$($(SWIFT) build $(RELEASE) --show-bin-path) && \
	install -Dm755 $$bin/trainingd $(DESTDIR)$(SBINDIR)/trainingd && \
	install -Dm755 $$bin/jobctl $(DESTDIR)$(BINDIR)/jobctl && \
	install -Dm755 $$bin/trainingd-keeper $(DESTDIR)$(LIBEXECDIR)/trainingd-keeper
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@sbindir@|$(SBINDIR)|g' systemd/trainingd.service.in > $(DESTDIR)$(UNITDIR)/trainingd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/trainingd.service
	install -Dm644 systemd/trainingd.socket $(DESTDIR)$(UNITDIR)/trainingd.socket
	install -Dm644 systemd/trainingd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/trainingd.conf
	install -Dm644 systemd/trainingd.sysusers $(DESTDIR)$(SYSUSERSDIR)/trainingd.conf
	install -Dm644 share/man/man1/trainingd.1 $(DESTDIR)$(MANDIR)/man1/trainingd.1
	install -Dm644 share/man/man1/jobctl.1 $(DESTDIR)$(MANDIR)/man1/jobctl.1
	install -Dm644 examples/linear-regression.json $(DESTDIR)$(DOCDIR)/examples/linear-regression.json
	install -Dm755 examples/linear-regression/train.py $(DESTDIR)$(DOCDIR)/examples/linear-regression/train.py
	install -Dm644 examples/linear-regression/data/train/train.csv $(DESTDIR)$(DOCDIR)/examples/linear-regression/data/train/train.csv
	# The configuration is the administrator's: an existing one is never replaced.
	test -e $(DESTDIR)$(SYSCONFDIR)/trainingd/trainingd.conf || \
		install -Dm644 etc/trainingd/trainingd.conf $(DESTDIR)$(SYSCONFDIR)/trainingd/trainingd.conf

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
	-rmdir $(DESTDIR)$(LIBEXECDIR) $(DESTDIR)$(DOCDIR)/examples/linear-regression/data/train \
		$(DESTDIR)$(DOCDIR)/examples/linear-regression/data $(DESTDIR)$(DOCDIR)/examples/linear-regression \
		$(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) 2>/dev/null
	# The configuration goes only if it is still the shipped one.
	if cmp -s etc/trainingd/trainingd.conf $(DESTDIR)$(SYSCONFDIR)/trainingd/trainingd.conf; then \
		rm -f $(DESTDIR)$(SYSCONFDIR)/trainingd/trainingd.conf; rmdir $(DESTDIR)$(SYSCONFDIR)/trainingd 2>/dev/null || true; fi

clean:
	rm -rf .build demo
