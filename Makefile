# The verbs people type. `make help` lists them.
PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
CONFIGURATION ?= debug

.PHONY: help build release test quickstart lint clean

help:
	@echo "make build       build everything (debug)"
	@echo "make test        run the whole test suite"
	@echo "make quickstart  install missing packages, build, run the example job in ./demo"
	@echo "make release     build release binaries"
	@echo "make clean       remove build products"

build:
	$(SWIFT) build -c $(CONFIGURATION)

release:
	$(SWIFT) build -c release

test:
	$(SWIFT) test

quickstart:
	scripts/quickstart.sh

clean:
	rm -rf .build demo
