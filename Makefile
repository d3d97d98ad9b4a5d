# cairn: a thin wrapper around CMake and the scripts. Every target first runs
# scripts/install-deps, which installs the Debian packages that are missing (and nothing
# when all are there), so these commands work on a fresh Debian 12 machine.
#
#   make test     build with -Werror, ASan and UBSan (build/test), run the unit tests,
#                 replay every fuzz target's seed corpus, then the integration tests
#   make build    Release build of the programs (build/release/bin)
#   make demo     the whole stack (scripts/demo): the demo internet (zones/) served by
#                 cairn-auth on 127.53.x.y, cairn-resolver on 127.0.0.1@5353, origins and
#                 edges on 127.54.3.x:80, the namespace cairn-demo; in the foreground until
#                 Ctrl-C;  make demo-down  stops it from another shell
#   make bench    side-by-side benchmarks against the peers (bench/*/run.sh; one of them:
#                 make bench BENCHES=bench/steering/run.sh)
#   make fuzz     every libFuzzer target for FUZZ_SECONDS each (build/fuzz)
#   make clean    remove build/
#
# Knobs: JOBS (parallel build jobs, default 2), FUZZ_SECONDS (default 600), BENCH_SECONDS
# (per server, default 15), LOCK (a file: heavy steps then run under `flock LOCK`, for
# machines shared with others building at the same time).

JOBS ?= 2
FUZZ_SECONDS ?= 600
BENCH_SECONDS ?= 15
BENCHES ?= bench/*/run.sh
LOCK ?=
RUNLOCK := $(if $(LOCK),flock $(LOCK) ,)

SANITIZER_ENV := ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
CTEST := ctest --output-on-failure --no-tests=error

.PHONY: all deps build test demo demo-down bench fuzz clean

all: build

deps:
	@scripts/install-deps

build: deps
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DCAIRN_TESTS=OFF
	$(RUNLOCK)cmake --build build/release -j$(JOBS)

test: deps
	cmake -S . -B build/test -DCMAKE_BUILD_TYPE=Debug -DCAIRN_TESTS=ON \
		-DCAIRN_SANITIZE=ON -DCAIRN_WERROR=ON
	$(RUNLOCK)cmake --build build/test -j$(JOBS)
	cd build/test && $(SANITIZER_ENV) $(RUNLOCK)$(CTEST) -j$(JOBS) -L '^unit$$'
	cd build/test && $(SANITIZER_ENV) $(RUNLOCK)$(CTEST) -j$(JOBS) -L '^fuzz$$'
	cd build/test && $(SANITIZER_ENV) $(RUNLOCK)$(CTEST) -L '^integration$$'

demo: build
	scripts/demo run

demo-down:
	scripts/demo down

bench: build
	@for b in $(BENCHES); do \
		echo "== $$b"; \
		BENCH_SECONDS=$(BENCH_SECONDS) $(RUNLOCK)$$b || exit 1; \
	done

# Every executable build/fuzz/bin/fuzz_* runs for FUZZ_SECONDS, starting from the seeds in
# tests/fuzz/corpus/<name>/ when that exists; what it learns goes to build/fuzz/corpus/<name>/
# (the checked-in seeds are not written to), crashes to build/fuzz/artifacts/, the full
# output to build/fuzz/logs/<name>.log. Fails if any target found a crash, leak or timeout.
fuzz: deps
	cmake -S . -B build/fuzz -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCAIRN_FUZZ=ON -DCAIRN_TESTS=OFF
	$(RUNLOCK)cmake --build build/fuzz -j$(JOBS)
	@set -u; mkdir -p build/fuzz/logs build/fuzz/artifacts; failed=""; n=0; \
	for f in build/fuzz/bin/fuzz_*; do \
		[ -x "$$f" ] || continue; \
		name=$$(basename "$$f"); n=$$((n + 1)); \
		mkdir -p "build/fuzz/corpus/$$name"; \
		seeds=""; [ -d "tests/fuzz/corpus/$$name" ] && seeds="tests/fuzz/corpus/$$name"; \
		echo "== $$name: $(FUZZ_SECONDS) s (log: build/fuzz/logs/$$name.log)"; \
		if $(RUNLOCK)"$$f" -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-artifact_prefix="build/fuzz/artifacts/$$name-" \
			"build/fuzz/corpus/$$name" $$seeds >"build/fuzz/logs/$$name.log" 2>&1; \
		then status=clean; else status=FAILED; failed="$$failed $$name"; fi; \
		runs=$$(sed -n 's/^stat::number_of_executed_units: *//p' "build/fuzz/logs/$$name.log"); \
		rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' "build/fuzz/logs/$$name.log"); \
		echo "   $$name: $$status, $${runs:-?} executions ($${rate:-?}/s)"; \
		[ "$$status" = clean ] || tail -n 30 "build/fuzz/logs/$$name.log"; \
	done; \
	if [ "$$n" -eq 0 ]; then echo "make fuzz: no fuzz_* targets in build/fuzz/bin"; exit 1; fi; \
	if [ -n "$$failed" ]; then echo "make fuzz: failed:$$failed"; exit 1; fi

clean:
	-@[ -x scripts/demo ] && scripts/demo down 2>/dev/null || true
	rm -rf build
