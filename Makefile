# The two entry points on a fresh Debian 12 machine (as root):
#   make run    install missing packages, build, run the main job on the bundled CMS R20 matrix
#   make test   install missing packages, build, run every test (ctest), then a sanitizer build of the unit tests
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc)
CMAKE_FLAGS ?=

.PHONY: all deps build run test test-asan fuzz bench install clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DPORTMATRIX_WERROR=ON $(CMAKE_FLAGS)

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-main $(BUILD)/portmatrix

test: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)
	$(MAKE) test-asan

test-asan: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DPORTMATRIX_SANITIZE=ON -DPORTMATRIX_UNIT_ONLY=ON -DPORTMATRIX_WERROR=ON -DPORTMATRIX_BENCH=OFF
	cmake --build $(ASAN_BUILD) -j $(JOBS) --target unit_tests
	cd $(ASAN_BUILD) && ctest --output-on-failure -j $(JOBS) -L unit

fuzz: deps
	cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DPORTMATRIX_FUZZ=ON -DBUILD_TESTING=OFF -DPORTMATRIX_BENCH=OFF
	cmake --build build-fuzz -j $(JOBS)

bench: build
	@scripts/run-bench $(BUILD)

install: build
	cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) build-fuzz
