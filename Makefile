# The verbs people type. `make help` lists them.
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
CONFIGURATION ?= debug

.PHONY: help build release test quickstart completions man bench clean

help:
	@echo "make build       build everything (debug)"
	@echo "make test        run the whole test suite"
	@echo "make quickstart  install missing packages, build, run the example job in ./demo"
	@echo "make release     build release binaries"
	@echo "make completions bash, zsh and fish completions for jobctl in share/completions/"
	@echo "make man         man pages of jobctl and trainingd (from their command definitions) in share/man/"
	@echo "make bench       run the benchmarks (minutes; rewrites bench/RESULTS.md)"
	@echo "make clean       remove build products"

build:
	$(SWIFT) build -c $(CONFIGURATION)

release:
	$(SWIFT) build -c release

test:
	$(SWIFT) test

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

clean:
	rm -rf .build demo
