# FokkerPlanck — build, run, test, benchmark.
#
#   make run     set up, build, solve the default problem (grids/ou2d.toml), print where the result is
#   make test    set up, build, run every test: Swift tests, validation cases, outside (Python) checks
#   make bench   fpsolve against the Python solver fplanck, direct against iterative in 4-d, spectral against the grid (not a test)
#
# Set-up is part of each target: missing Debian packages are installed with apt-get, Python
# packages go into the git-ignored .venv. One release build serves the tests and the binary
# (numerical code is 10–50× slower in debug builds).

SHELL       := /bin/bash
SWIFT_FLAGS := -c release -Xswiftc -enable-testing
BIN_DIR      = $(shell swift build $(SWIFT_FLAGS) --show-bin-path)
FPSOLVE      = $(BIN_DIR)/fpsolve
PYTHON       = .venv/bin/python

.PHONY: all deps venv build run test swift-test validate outside-check fault-check bench clean

all: build

deps:
	@scripts/ensure-system-packages.sh

venv: deps
	@scripts/ensure-venv.sh validation/requirements.txt

# Our own sources build without warnings (dependencies' are theirs): a warning fails the build.
build: deps
	@swift build $(SWIFT_FLAGS) 2>&1 | tee .build-log.txt; status=$${PIPESTATUS[0]}; \
	if [ $$status -ne 0 ]; then exit $$status; fi; \
	if grep -E "^$(CURDIR)/(Sources|Tests)/.*warning:" .build-log.txt; then echo "warnings in our sources (above)"; exit 1; fi

run: build
	@mkdir -p out
	$(FPSOLVE) solve grids/ou2d.toml -o out/ou2d.h5
	@echo "result: $(CURDIR)/out/ou2d.h5  (inspect it with: $(FPSOLVE) inspect out/ou2d.h5)"

swift-test: build
	swift test $(SWIFT_FLAGS)

validate: build
	$(FPSOLVE) validate --quick

# The outputs of the outside check stay in out/check for the real clients (ncdump, netCDF4, xarray
# with both engines, cf-xarray, NCO, CDO, ParaView's pvbatch on the sidecars).
outside-check: build venv
	$(PYTHON) validation/check_outputs.py --fpsolve $(FPSOLVE) --keep out/check
	$(PYTHON) validation/check_readers.py out/check
	$(PYTHON) validation/figures.py --fpsolve $(FPSOLVE)

# Hostile input and faults: the regression table, full disks, signals, a seeded mutation fuzzer.
fault-check: build venv
	$(PYTHON) validation/fault_suite.py --fpsolve $(FPSOLVE)

test: swift-test validate outside-check fault-check

bench: build
	@scripts/ensure-venv.sh validation/requirements.txt benchmarks/requirements.txt
	$(PYTHON) benchmarks/bench_fplanck.py --fpsolve $(FPSOLVE)
	$(PYTHON) benchmarks/bench_evolve.py --fpsolve $(FPSOLVE)
	$(PYTHON) benchmarks/bench_phase_space.py --fpsolve $(FPSOLVE)
	$(PYTHON) benchmarks/bench_error_estimate.py --fpsolve $(FPSOLVE)
	$(PYTHON) benchmarks/bench_spectral.py --fpsolve $(FPSOLVE)
	$(PYTHON) benchmarks/bench_general.py --fpsolve $(FPSOLVE)

clean:
	rm -rf .build out .build-log.txt
