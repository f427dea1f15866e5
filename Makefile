# Tessera: the README's two commands.
#   make run   install missing system packages, build, start the embedded cluster and the server
#   make test  install missing system packages, build, run the whole test suite against real PostgreSQL

SWIFT ?= swift
DIR ?= .tessera
PORT ?= 8080

.PHONY: run test deps build build-debug bench fuzz format lint ops-check infra-check

# SwiftPM's own check of imports between this package's targets (scripts/check-imports.py,
# run by lint, checks every product each target imports, tests included).
IMPORT_CHECK = --explicit-target-dependency-import-check error
FORMATTED = Sources Tests fuzz/*.swift Package.swift

format:
	$(SWIFT) format format --in-place --recursive $(FORMATTED)

lint:
	$(SWIFT) format lint --strict --recursive $(FORMATTED)
	python3 scripts/check-imports.py

# The operator's files (README: Operating Tessera): the alert rules and their promtool unit
# tests, and the Grafana dashboards (valid models, PromQL that parses).
ops-check:
	bash scripts/check-alerts.sh
	python3 scripts/check-dashboards.py

# The AWS deployment (infra/README.md): every Terraform file parses, checkov passes, and the
# structural tests of the modules, the Dockerfile and the cost estimate (Python tools in .venv/).
infra-check:
	bash scripts/check-infra.sh

bench: deps
	$(SWIFT) build -c release --product tessera-bench
	.build/release/tessera-bench ingest --dir .tessera-bench
	.build/release/tessera-bench read --dir .tessera-bench-read
	.build/release/tessera-bench all --dir .tessera-bench-all

fuzz:
	bash fuzz/run.sh $${FUZZ_SECONDS:-300}

deps:
	@bash scripts/install-deps.sh

build: deps
	$(SWIFT) build -c release --product tessera

build-debug: deps
	$(SWIFT) build --product tessera

run: build
	.build/release/tessera serve --dir $(DIR) --port $(PORT) --demo --monitoring

test: deps lint ops-check infra-check
	$(SWIFT) build --build-tests $(IMPORT_CHECK)
	@# A seconds-long smoke of the ingest benchmark: it must complete and its stored-data check pass.
	bench_dir=$$(mktemp -d /tmp/tessera-bench-smoke.XXXXXX) && chmod 755 $$bench_dir && \
	  ( .build/debug/tessera-bench ingest --smoke --dir $$bench_dir --port 18199; status=$$?; \
	    .build/debug/tessera cluster down --dir $$bench_dir >/dev/null; rm -rf $$bench_dir; exit $$status )
	@# The same for the read benchmark (primary, two replicas, routed reads, replica lag under ingest).
	bench_dir=$$(mktemp -d /tmp/tessera-bench-read-smoke.XXXXXX) && chmod 755 $$bench_dir && \
	  ( .build/debug/tessera-bench read --smoke --dir $$bench_dir --port 18198; status=$$?; \
	    .build/debug/tessera cluster down --dir $$bench_dir >/dev/null; rm -rf $$bench_dir; exit $$status )
	@# What the server's code spends on a reading before the database (no I/O): it must run and encode every value.
	if [ -d ../shared/data/beijing-air-quality ]; then .build/debug/tessera-bench parse --smoke --data ../shared/data/beijing-air-quality; fi
	@# The side-by-side benchmark: Tessera, COPY, naive EAV, pure JSONB and InfluxDB on the same rows,
	@# then the real air-quality readings through line protocol when ../shared/data has them;
	@# then the operator's `archive pack` of every past month on that cluster.
	bench_dir=$$(mktemp -d /tmp/tessera-bench-all-smoke.XXXXXX) && chmod 755 $$bench_dir && \
	  ( .build/debug/tessera-bench all --smoke --dir $$bench_dir --port 18196 --results $$bench_dir/results && \
	    if [ -d ../shared/data/beijing-air-quality ]; then \
	      .build/debug/tessera-bench all --smoke --dataset air-quality --data-dir ../shared/data/beijing-air-quality \
	        --dir $$bench_dir --port 18196 --results $$bench_dir/results; fi && \
	    .build/debug/tessera cluster up --dir $$bench_dir >/dev/null && \
	    .build/debug/tessera archive pack --dir $$bench_dir --older-than 1 && \
	    .build/debug/tessera archive list --dir $$bench_dir; status=$$?; \
	    .build/debug/tessera cluster down --dir $$bench_dir >/dev/null; rm -rf $$bench_dir; exit $$status )
	@# The scaling run at two small sizes (each size its own cluster, stopped as it ends).
	bench_dir=$$(mktemp -d /tmp/tessera-bench-scale-smoke.XXXXXX) && chmod 755 $$bench_dir && \
	  ( .build/debug/tessera-bench scale --smoke --dir $$bench_dir --port 18194 --results $$bench_dir/results; status=$$?; \
	    for size in $$bench_dir/*/; do .build/debug/tessera cluster down --dir $$size >/dev/null 2>&1; done; rm -rf $$bench_dir; exit $$status )
	@# The restore benchmark (pgBackRest: a restore to a point in time, a full backup, a restore from it).
	bench_dir=$$(mktemp -d /tmp/tessera-bench-restore-smoke.XXXXXX) && chmod 755 $$bench_dir && \
	  ( .build/debug/tessera-bench restore --smoke --dir $$bench_dir --port 18192; status=$$?; \
	    .build/debug/tessera cluster down --dir $$bench_dir >/dev/null; rm -rf $$bench_dir; exit $$status )
	SWIFT=$(SWIFT) bash scripts/run-tests.sh $(IMPORT_CHECK)
	@# Coverage-guided fuzzing of the line-protocol parser and the JSON point scanner (libFuzzer), 30 s each.
	bash fuzz/run.sh 30
