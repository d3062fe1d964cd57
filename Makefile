# WorkTrain - the commands of README.md. Every target installs missing Debian
# packages first (deploy/install-deps.sh is a no-op when all are present).
BUILD      ?= build
JOBS       ?= $(shell nproc)
CMAKE_ARGS ?=

.PHONY: all deps build test demo bench asan fuzz install clean format image

all: build

deps:
	@bash deploy/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DWT_WERROR=ON $(CMAKE_ARGS) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

test: build
	@WT_WITH_BROWSER=1 bash deploy/install-deps.sh
	@cd $(BUILD) && ctest --output-on-failure -j 2 --timeout 900

demo: build
	@$(BUILD)/worktrain up --demo

bench: build
	@/usr/bin/python3 bench/bench.py --build $(BUILD)

asan: deps
	@WT_WITH_BROWSER=1 bash deploy/install-deps.sh
	@cmake -S . -B build-asan -DWT_WERROR=ON -DWT_SANITIZE=address,undefined -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure -j 2 --timeout 1200

fuzz: deps
	@CC=clang cmake -S . -B build-fuzz -DWT_FUZZ=ON -DCMAKE_BUILD_TYPE=Debug >/dev/null
	@cmake --build build-fuzz -j $(JOBS)
	@bash tests/fuzz/run-fuzzers.sh build-fuzz $${FUZZ_SECONDS:-60}

# The container image without pulling a base (deploy/docker/build-image.sh:
# buildah over the built binary and the libraries it links). The registry
# build is `docker build -f deploy/docker/Dockerfile .`.
image: build
	@bash deploy/docker/build-image.sh $(BUILD) $${IMAGE:-localhost/worktrain:dev}

install: build
	@cmake --install $(BUILD)

format:
	@git ls-files '*.c' '*.h' | xargs clang-format -i

clean:
	rm -rf $(BUILD) build-asan build-fuzz
