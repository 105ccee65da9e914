# The front door. `make run` and `make test` set up everything they need first.
BUILD ?= build/release
JOBS ?= $(shell nproc)

.PHONY: all setup build web run test bench format clean

all: build

setup:
	@scripts/setup.sh

build: setup
	@cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

web: setup
	@if [ -f web/package.json ]; then cd web && npm run --silent build; fi

run: build web
	@scripts/run.sh

test: build web
	@scripts/test.sh $(BUILD)

bench: build
	@scripts/bench.sh $(BUILD)

format:
	@git ls-files '*.h' '*.cc' | xargs clang-format -i

clean:
	rm -rf build
