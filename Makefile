# Tessera: the README's two commands.
#   make run   install missing system packages, build, start the embedded cluster and the server
#   make test  install missing system packages, build, run the whole test suite against real PostgreSQL

SWIFT ?= swift
DIR ?= .tessera
PORT ?= 8080

.PHONY: run test deps build build-debug

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product tessera

build-debug: deps
	$(SWIFT) build --product tessera

run: build
	.build/release/tessera serve --dir $(DIR) --port $(PORT) --demo

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test
