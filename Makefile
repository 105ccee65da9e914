# The front door. `make run` and `make test` set up everything they need first.
#
#   make build      Release build into build/release (the binary and every test)
#   make debug      Debug build into build/debug
#   make unit       the unit tests (CTest label `unit`), in seconds
#   make sanitize   AddressSanitizer + UndefinedBehaviorSanitizer build into build/sanitize, then
#                   its unit and integration tests against a throwaway PostgreSQL, and make fuzz
#   make fuzz       the libFuzzer targets (clang, sanitizers too) in build/fuzz, each run bounded
#   make test       make lint, every test of the Release build, the sanitizer build's unit
#                   tests, make fuzz
#   make format     clang-format -i over the C++ files FORMAT_FILES lists
#   make format-check  clang-format --dry-run -Werror over the same files
#   make lint       make format-check, and ESLint and tsc --noEmit over the web client
BUILD ?= build/release
DEBUG_BUILD ?= build/debug
SANITIZE_BUILD ?= build/sanitize
FUZZ_BUILD ?= build/fuzz
JOBS ?= $(shell nproc)

.PHONY: all setup configure build build-app debug unit sanitize fuzz web run test bench format \
	format-check lint clean FORCE

all: build

# Setup runs again only when its script or a lock file changed, or something it installs is
# missing; `make setup` runs it regardless (e.g. after removing a Debian package by hand).
SETUP_STAMP := build/.setup-stamp
SETUP_INPUTS := scripts/setup.sh $(wildcard web/package-lock.json tests/lake/package-lock.json)
SETUP_OUTPUTS := .cache/duckdb/lib/libduckdb.so .cache/duckdb/include/duckdb.h \
	$(if $(wildcard web/package.json),web/node_modules/.package-lock.json) \
	$(if $(wildcard tests/lake/package.json),tests/lake/node_modules/.package-lock.json)
SETUP_MISSING := $(filter-out $(wildcard $(SETUP_OUTPUTS)),$(SETUP_OUTPUTS))

$(SETUP_STAMP): $(SETUP_INPUTS) $(if $(SETUP_MISSING),FORCE)
	@scripts/setup.sh
	@mkdir -p $(@D) && touch $@

setup:
	@scripts/setup.sh
	@mkdir -p $(dir $(SETUP_STAMP)) && touch $(SETUP_STAMP)

# Configuring happens once per build folder: afterwards Ninja reruns CMake itself when a
# CMakeLists.txt changes. `make configure` configures the Release folder again regardless.
CMAKE_RELEASE := -G Ninja -DCMAKE_BUILD_TYPE=Release
CMAKE_DEBUG := -G Ninja -DCMAKE_BUILD_TYPE=Debug
CMAKE_SANITIZE := -G Ninja -DCMAKE_BUILD_TYPE=Debug -DMIGSBYU_SANITIZE=ON
CMAKE_FUZZ := -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_COMPILER=clang \
	-DCMAKE_CXX_COMPILER=clang++ -DMIGSBYU_FUZZ=ON

$(BUILD)/build.ninja: | $(SETUP_STAMP)
	@cmake -S . -B $(BUILD) $(CMAKE_RELEASE) >/dev/null

$(DEBUG_BUILD)/build.ninja: | $(SETUP_STAMP)
	@cmake -S . -B $(DEBUG_BUILD) $(CMAKE_DEBUG) >/dev/null

$(SANITIZE_BUILD)/build.ninja: | $(SETUP_STAMP)
	@cmake -S . -B $(SANITIZE_BUILD) $(CMAKE_SANITIZE) >/dev/null

$(FUZZ_BUILD)/build.ninja: | $(SETUP_STAMP)
	@cmake -S . -B $(FUZZ_BUILD) $(CMAKE_FUZZ) >/dev/null

configure: $(SETUP_STAMP)
	@cmake -S . -B $(BUILD) $(CMAKE_RELEASE) >/dev/null

build: $(SETUP_STAMP) $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS)

build-app: $(SETUP_STAMP) $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS) --target migsbyu

debug: $(SETUP_STAMP) $(DEBUG_BUILD)/build.ninja
	@cmake --build $(DEBUG_BUILD) -j $(JOBS)

unit: $(SETUP_STAMP) $(BUILD)/build.ninja
	@cmake --build $(BUILD) -j $(JOBS) --target unit_tests
	@ctest --test-dir $(BUILD) -L unit --output-on-failure -j $(JOBS)

# Every test but web_unit (the front-end's own tests, the same JavaScript in every build).
sanitize: $(SETUP_STAMP) $(SANITIZE_BUILD)/build.ninja web fuzz
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS)
	@scripts/test.sh $(SANITIZE_BUILD) -E '^web_unit$$'

# Only the fuzzers and the libraries they link are built in this configuration.
fuzz: $(SETUP_STAMP) $(FUZZ_BUILD)/build.ninja
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@ctest --test-dir $(FUZZ_BUILD) -L fuzz --output-on-failure -j $(JOBS)

web: $(SETUP_STAMP)
	@if [ -f web/package.json ]; then cd web && npm run --silent build; fi

run: build-app web
	@scripts/run.sh $(ARGS)

test: lint build web $(SANITIZE_BUILD)/build.ninja $(FUZZ_BUILD)/build.ninja
	@cmake --build $(SANITIZE_BUILD) -j $(JOBS) --target unit_tests
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target fuzzers
	@scripts/test.sh $(BUILD)
	@ctest --test-dir $(SANITIZE_BUILD) -L unit --output-on-failure -j $(JOBS)
	@ctest --test-dir $(FUZZ_BUILD) -L fuzz --output-on-failure -j $(JOBS)

bench: build
	@scripts/bench.sh $(BUILD)

# The C++ files under clang-format: every tracked .h and .cc but FORMAT_EXCLUDE (empty: a file
# may be left out for a while, e.g. while a long-lived branch rewrites it, so that formatting here
# does not make its merge conflict).
FORMAT_EXCLUDE ?=
FORMAT_FILES = $(filter-out $(FORMAT_EXCLUDE),$(shell git ls-files '*.h' '*.cc'))

format: $(SETUP_STAMP)
	@clang-format -i $(FORMAT_FILES)

format-check: $(SETUP_STAMP)
	@clang-format --dry-run -Werror $(FORMAT_FILES)

lint: $(SETUP_STAMP) format-check
	@cd web && npm run --silent lint

clean:
	rm -rf build
