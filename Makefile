# The front door. `make run` and `make test` set up everything they need first.
BUILD ?= build/release
JOBS ?= $(shell nproc)

.PHONY: all setup configure build build-app web run test bench format clean

all: build

setup:
	@scripts/setup.sh

configure: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

build-app: configure
	@cmake --build $(BUILD) -j $(JOBS) --target migsbyu

web: setup
	@if [ -f web/package.json ]; then cd web && npm run --silent build; fi

run: build-app web
	@scripts/run.sh $(ARGS)

test: build web
	@scripts/test.sh $(BUILD)

bench: build
	@scripts/bench.sh $(BUILD)

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
