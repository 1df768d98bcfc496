# psgd — the Makefile only wraps the CMake presets (CMakePresets.json) and installs what is missing.
# The two commands of README.md: `make demo` and `make test`.

# Debian's Python, which has python3-matplotlib (a pyenv `python3` may not).
PYTHON ?= /usr/bin/python3
# The core bench-torch pins both sides to.
BENCH_CPU ?= 1
JOBS ?= $(shell nproc)
PSGD := build/release/psgd

# The Debian 12 packages, by role: each target installs the roles it uses and no more, so
# `make demo` installs what building and running psgd needs, not the test and lint tools.
#   run    compiler, CMake, Ninja, Eigen, nlohmann/json, hwloc (and lstopo, which exports the
#          topologies `--topology-xml` reads), libnuma, zlib, Google Benchmark (the release
#          preset builds the micro-benchmarks), OpenBLAS (the models' benchmark measures its sgemm
#          next to Eigen's; -DPSGD_OPENBLAS=ON runs the dense models on it), git (the build
#          records its commit; without it the commit is null), and the Fashion-MNIST data
#   plots  the figure scripts, the loader and `psgd report` (plots/: matplotlib, pandas, jinja2)
#   mpi    `psgd run --backend mpi` (optional: a build without it refuses that backend)
#   test   GoogleTest (the dev, tsan and asan presets build the tests), jsonschema, zsh (the completion test), plots and
#          mpi (the suite tests both)
#   format clang-format; lint: clang-tidy (and clang-format); fuzz: clang and its libFuzzer runtime
RUN_PACKAGES := cmake ninja-build g++ make pkg-config git libeigen3-dev nlohmann-json3-dev \
  libhwloc-dev hwloc libnuma-dev zlib1g-dev libbenchmark-dev libopenblas-dev dataset-fashion-mnist
PLOTS_PACKAGES := python3-matplotlib python3-pandas python3-jinja2
MPI_PACKAGES := openmpi-bin libopenmpi-dev
TEST_PACKAGES := libgtest-dev libgmock-dev python3-jsonschema zsh $(PLOTS_PACKAGES) $(MPI_PACKAGES)
FORMAT_PACKAGES := clang-format
LINT_PACKAGES := $(FORMAT_PACKAGES) clang-tidy
FUZZ_PACKAGES := clang libclang-rt-14-dev
# What `make deps` installs: the run role unless told otherwise (the *-deps targets below).
DEB_PACKAGES := $(RUN_PACKAGES)

.PHONY: all figures-examples release dev deps plots-deps mpi-deps test-deps format-deps lint-deps fuzz-deps \
  nightly-deps all-deps slurm-deps browser-deps torch-deps bench-torch demo install \
  test test-march test-tsan test-asan fuzz lint check \
  format format-check readme-help bench bench-mpi nightly nightly-baseline figures report clean

all: release

# One goal at a time, even under `make -j`: the *-deps prerequisites of a target would otherwise
# run apt-get side by side and fail on dpkg's lock, and each build already runs in parallel
# inside cmake (-j $(JOBS)).
.NOTPARALLEL:

# Idempotent: asks dpkg what is missing and runs `apt-get update` + install only when something is.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi; \
	  $$sudo apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# One target per role (see above); each is idempotent, like deps.
plots-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(PLOTS_PACKAGES)"
mpi-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(MPI_PACKAGES)"
test-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(TEST_PACKAGES)"
format-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(FORMAT_PACKAGES)"
lint-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(LINT_PACKAGES)"
fuzz-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(FUZZ_PACKAGES)"
# experiments/nightly/run_nightly.py validates each night's document against its schema.
nightly-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="python3-jsonschema"
# Every role at once (a CI image, a workstation that does everything): what .ci/run ends up with.
all-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(RUN_PACKAGES) $(TEST_PACKAGES) \
	  $(LINT_PACKAGES) $(FUZZ_PACKAGES) $(SLURM_PACKAGES) $(BROWSER_PACKAGES)"

# Slurm and munge for the Slurm backend's end-to-end test (harness/test/slurm_end_to_end_test.cpp
# starts a single-host Slurm on localhost from them): only `make test` and `make test-asan`, the
# suites that run it, need them, so they are a target of their own rather than part of `make
# deps`. Idempotent, like deps; the packages' own service start-up (no systemd here) may print
# warnings, which do not matter: the test starts its own daemons with its own configuration.
SLURM_PACKAGES := slurm-wlm munge
slurm-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(SLURM_PACKAGES)"

# Debian's chromium (large: about 300 MB installed), the headless browser in which `psgd report`'s
# page is tested (ctest PlotsReport.Browser, `make report`): only those need it, so it is a target
# of its own rather than part of `make deps`. Idempotent, like deps.
BROWSER_PACKAGES := chromium
browser-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(BROWSER_PACKAGES)"

# PyTorch (Debian's python3-torch, large) for bench/torch_step.py's side-by-side comparison
# only: nothing else needs it, so it is a target of its own rather than part of `make deps`.
# OpenBLAS, because Debian's torch calls whatever libblas.so.3 is installed, and the reference
# BLAS it otherwise gets would make PyTorch look ~1.7x slower than its usual setup; threadpoolctl
# for bench/torch_step.py to report which OpenBLAS kernel set PyTorch ran on.
TORCH_PACKAGES := python3-torch libopenblas0-pthread python3-threadpoolctl
torch-deps:
	@$(MAKE) --no-print-directory deps DEB_PACKAGES="$(TORCH_PACKAGES)"

release: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target psgd

dev: deps test-deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

# Trains the default model on Fashion-MNIST with sequential SGD and prints a summary.
demo: release
	mkdir -p results/demo
	$(PSGD) run --algo seq --model mlp:128x128x128 --batch 32 --step 0.05 --epochs 2 \
	  --out results/demo/seq-mlp.json

# The release psgd into PREFIX/bin and the Python package plots (the figures, the results loader,
# `psgd report`'s page) into PREFIX/share/psgd/python: cmake --install of the release build, by
# CMakeLists.txt's install() rules (docs/building.md, "Installing").
PREFIX ?= /usr/local
install: release
	cmake --install build/release --prefix $(PREFIX)

# The whole test suite (unit, stress, e2e) on the dev build (-O2, assertions on, -Werror).
test: dev slurm-deps browser-deps
	ctest --preset dev -j $(JOBS)

# The dev preset (-Werror) for each x86-64 micro-architecture level instead of -march=native, so
# CI proves on any machine that every level compiles (Eigen's SSE4.2, AVX2 and AVX-512 packet
# code included) and that the levels this CPU can run compute correctly. Per level, in its own
# build/march-LEVEL: the two libraries whose code depends on the level (models: Eigen and the own
# GEMM; algorithms: Eigen's update kernel, the atomics), and where glibc's loader says the CPU
# supports the level, the models' unit tests built and run (the gradient checks go through the
# packet code). The harness (JSON, hwloc, files) has no level-specific code and is left to
# `make test`. Without debug information (-O2 only): nothing here is debugged, and -g costs a
# fifth of the compile time. As unity builds (PSGD_UNITY, batches of 8 sources): the level's
# code generation is the same, and a level's two targets took 68 s of CPU instead of 141
# (x86-64-v3, no ccache, 2026-12-06, the 2-core AMD EPYC dev machine at load ~12). Then psgd at
# -O3 for two AVX-512 targets (march-native-%, below).
MARCH_LEVELS := x86-64-v2 x86-64-v3 x86-64-v4
test-march: deps test-deps
	@for level in $(MARCH_LEVELS); do \
	  dir=build/march-$$level; \
	  cmake --preset dev -B $$dir -DPSGD_NATIVE=OFF -DCMAKE_CXX_FLAGS=-march=$$level \
	    -DCMAKE_CXX_FLAGS_DEBUG=-O2 -DPSGD_BUILD_BENCHMARKS=OFF -DPSGD_UNITY=ON >/dev/null || exit 1; \
	  if /lib64/ld-linux-x86-64.so.2 --help 2>/dev/null | grep -q "$$level (supported"; then \
	    cmake --build $$dir -j $(JOBS) --target psgd_algorithms psgd_models_test || exit 1; \
	    $$dir/psgd_models_test --gtest_brief=1 || exit 1; \
	    echo "test-march: $$level compiled and tested"; \
	  else \
	    cmake --build $$dir -j $(JOBS) --target psgd_algorithms psgd_models || exit 1; \
	    echo "test-march: $$level compiled (this CPU cannot run it: not tested)"; \
	  fi; \
	done
	@$(MAKE) --no-print-directory $(MARCH_NATIVE_TARGETS:%=march-native-%)

# What `-march=native` turns on for the common AVX-512 CPUs, at the release preset's -O3 with
# -Werror: GCC 12 once warned (a false -Wrestrict) in harness code at -O3 only, on a Zen 5
# machine's native flags, which neither the dev preset's -O2 nor the levels above reach. The
# whole psgd binary compiled, nothing run (these CPUs may not be the one building). GCC 12 has
# no -march=znver4: Zen 4's set is znver3 plus its AVX-512 extensions. No debug information,
# only the psgd target: this is what CI pays for.
MARCH_NATIVE_TARGETS := sapphirerapids znver4
MARCH_NATIVE_sapphirerapids := -march=sapphirerapids
MARCH_NATIVE_znver4 := -march=znver3 -mavx512f -mavx512dq -mavx512cd -mavx512bw -mavx512vl \
  -mavx512vbmi -mavx512vbmi2 -mavx512vnni -mavx512bitalg -mavx512vpopcntdq -mavx512bf16 \
  -mavx512ifma -mgfni -mvaes -mvpclmulqdq
march-native-%: deps
	cmake --preset release -B build/march-native-$* -DPSGD_NATIVE=OFF -DPSGD_WERROR=ON \
	  -DPSGD_BUILD_BENCHMARKS=OFF "-DCMAKE_CXX_FLAGS=$(MARCH_NATIVE_$*)" \
	  "-DCMAKE_CXX_FLAGS_RELEASE=-O3 -DNDEBUG -g0 -fno-omit-frame-pointer" >/dev/null
	cmake --build build/march-native-$* -j $(JOBS) --target psgd
	@echo "test-march: $* (-O3, -Werror) compiled"

# The unit and stress tests again under ThreadSanitizer / AddressSanitizer+UBSan.
test-tsan: deps test-deps
	cmake --preset tsan >/dev/null
	cmake --build --preset tsan -j $(JOBS)
	ctest --preset tsan -j $(JOBS) -L "unit|stress"

test-asan: deps test-deps slurm-deps
	cmake --preset asan >/dev/null
	cmake --build --preset asan -j $(JOBS)
	ctest --preset asan -j $(JOBS)

# The libFuzzer targets (models/fuzz, harness/fuzz: the IDX and CIFAR-10 readers, the sweep spec
# parser and its expansion, `--config` JSON, the command line, `psgd compare`'s results files),
# built with clang in the fuzz preset (ASan+UBSan) and each run for FUZZ_SECONDS from its
# committed seed corpus FOLDER/fuzz/corpus/NAME; inputs it finds go to build/fuzz/corpus/NAME
# (kept between runs), a crash to build/fuzz/NAME-crash-* and fails the target. Every crash found
# becomes a regression test in FOLDER/test. `make fuzz FUZZ_SECONDS=600` for a longer hunt.
FUZZERS := models:idx models:cifar harness:sweep_spec harness:sweep_expand harness:config \
           harness:cli harness:compare
FUZZ_SECONDS ?= 8
fuzz: deps fuzz-deps
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	@for entry in $(FUZZERS); do \
	  dir=$${entry%%:*}; name=$${entry#*:}; work=build/fuzz/corpus/$$name; mkdir -p $$work; \
	  build/fuzz/psgd_$${name}_fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
	    -artifact_prefix=build/fuzz/$$name-crash- $$work $$dir/fuzz/corpus/$$name \
	    > build/fuzz/$$name.log 2>&1 || \
	    { tail -n 40 build/fuzz/$$name.log; echo "make fuzz: $$name failed (build/fuzz/$$name.log)"; exit 1; }; \
	  echo "make fuzz: $$name: $$(grep -o 'Done [0-9]* runs in [0-9]* second(s)' build/fuzz/$$name.log)"; \
	done

# clang-tidy with .clang-tidy's checks as errors over every source of common/, models/,
# algorithms/ and harness/, on the compile commands of the dev preset configured (not built) in
# build/lint, so it needs no build first; PSGD_PCH=OFF explicitly, because clang cannot read
# GCC's precompiled headers and because compiling every source without them proves each one
# includes what it uses.
# Two passes: the libraries, tools, benchmarks and fuzz targets with every check; the test
# sources (*/test/) with the naming and concurrency checks and the bugprone checks that find
# real defects in test code (use after move, dangling handles, discarded RAII objects and
# return values). The other bugprone matchers walk each test's whole AST (GoogleTest, Eigen,
# nlohmann/json) and cost more than the parse: 9.5 s of CPU for harness/test/run_outcome_test.cpp
# with every check, 5.6 s with the test set, 3.8 s parsing alone (clang-tidy 14, 2026-12-06), and
# the test sources are 68 of the 155 linted, so the split saves about a quarter of the stage.
# -Wno-unknown-warning-option: the dev flags are GCC's; clang need not know every one.
LINT_TEST_CHECKS := -bugprone-*,bugprone-use-after-move,bugprone-dangling-handle,bugprone-unused-raii,bugprone-unused-return-value
LINT_TIDY := run-clang-tidy -p build/lint -j $(JOBS) -quiet -extra-arg=-Wno-unknown-warning-option
lint: deps test-deps lint-deps
	cmake --preset dev -B build/lint -DPSGD_PCH=OFF >/dev/null
	cmake --build build/lint --target psgd_git_state >/dev/null  # the one generated header
	{ $(LINT_TIDY) "$(CURDIR)/(common|models|algorithms|harness)/(?!([a-z_]+/)*test/)" && \
	  $(LINT_TIDY) -checks='$(LINT_TEST_CHECKS)' "$(CURDIR)/(common|models|algorithms|harness)/([a-z_]+/)*test/"; \
	} > build/lint.log 2>&1 || \
	  { grep -E "(warning|error):" build/lint.log | sort -u; echo "make lint: clang-tidy failed (build/lint.log)"; exit 1; }
	@echo "make lint: clang-tidy clean"

# What CI runs (.ci/run): formatting, the suite, the examples' report, lint, then the sanitizers.
check: format-check test report test-march lint test-tsan test-asan fuzz

FORMAT_FILES = $(shell git ls-files '*.cpp' '*.hpp')
format: format-deps
	clang-format -i $(FORMAT_FILES)
format-check: format-deps
	clang-format --dry-run --Werror $(FORMAT_FILES)

# docs/running.md's copy of `psgd run --help` (between its `run-help begin` and `run-help end` lines)
# rewritten from the dev binary's output, so it is never edited by hand;
# harness/test/readme_help_end_to_end_test.cpp fails while the two differ. The dev binary
# because `make test` builds it anyway, and the help text is the same in every build.
RUN_HELP_DOC := docs/running.md
README_HELP_BEGIN := <!-- run-help begin: written by make readme-help -->
README_HELP_END := <!-- run-help end -->
readme-help: deps test-deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS) --target psgd
	@grep -qxF '$(README_HELP_BEGIN)' $(RUN_HELP_DOC) && grep -qxF '$(README_HELP_END)' $(RUN_HELP_DOC) || \
	  { echo "make readme-help: $(RUN_HELP_DOC) lacks the line '$(README_HELP_BEGIN)' or '$(README_HELP_END)'"; exit 1; }
	build/dev/psgd run --help > build/run-help.txt
	awk -v begin='$(README_HELP_BEGIN)' -v end='$(README_HELP_END)' -v help=build/run-help.txt \
	  '$$0 == begin { print; print "```"; while ((getline line < help) > 0) print line; print "```"; skip = 1; next } \
	   $$0 == end { skip = 0 } !skip { print }' $(RUN_HELP_DOC) > build/run-help-doc.tmp
	mv build/run-help-doc.tmp $(RUN_HELP_DOC)

# Micro-benchmarks (Google Benchmark), 5 repetitions, JSON under results/bench/ (every
# repetition, so `psgd compare` can test two of them; the console shows the aggregates).
bench: deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)
	mkdir -p results/bench
	for b in build/release/psgd_*_bench; do \
	  $$b --benchmark_repetitions=5 --benchmark_display_aggregates_only=true \
	    --benchmark_out=results/bench/$$(basename $$b).json --benchmark_out_format=json || exit 1; \
	done

# psgd across processes (docs/distributed.md#measured-the-combine-and-the-rounds): the MPI
# combine against a bare MPI_Allreduce at 1, 2 and 4 ranks, communication per update by method
# and rank count, and sync's 2 ranks x 1 thread against 1 rank x 2 threads (bench/mpi_bench.py;
# 3 interleaved passes, medians; JSON under results/bench/).
bench-mpi: deps mpi-deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target psgd psgd_bench_combine_mpi
	mkdir -p results/bench
	$(PYTHON) bench/mpi_bench.py --build build/release --json results/bench/mpi_bench.json

# The mlp, cnn and lenet training steps next to PyTorch's on one pinned core, in 3 interleaved
# rounds (bench/torch_step.py; docs/performance.md#against-pytorch). PyTorch runs with
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset (its native OpenBLAS kernels), psgd's side as given.
bench-torch: deps torch-deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target psgd_models_bench
	taskset -c $(BENCH_CPU) $(PYTHON) bench/torch_step.py --bench build/release/psgd_models_bench

# The nightly regression job (docs/nightly.md): micro-benchmarks and short runs
# into results/nightly/<date>-<sha>.json, then `psgd compare` against
# experiments/nightly/baseline.json (report: the same name with .md). About 3 minutes on 2 cores.
# Exit status: 0 pass, 1 a regression or a changed deterministic result, 2 bad input or no
# baseline, 3 a benchmark or run failed. nightly-baseline records a new baseline instead.
#
# `make nightly AGAINST=<revision>` is the A/B job instead (docs/nightly.md, "Two builds in one
# run"): it builds the revision in its own git worktree, build/ab/<sha>/ (release preset, this
# environment's ccache settings; reused while that folder's build is finished), and measures it (A)
# against build/release (B) in interleaved pairs, A B B A ..., each a fresh process; per benchmark
# the median paired ratio, its sign-test interval (simultaneous at 95% over the run's benchmarks),
# a verdict and the smallest detectable effect; report in results/nightly/ab/. Same exit codes (a
# DISTURBED run, slower while the load moved too much, exits 0). More options in AB_ARGS, e.g.
# AB_ARGS="--pairs 12 --e2e none" (the fewest that judge its 53 micro-benchmark series) or the job's
# power against a calibrated slowdown (a test-only build option):
#   make nightly AGAINST=HEAD AB_ARGS="--new HEAD --new-cmake-arg=-DPSGD_TEST_SLOWDOWN_PERCENT=10"
# The stored baseline stays: without AGAINST the job is the one above.
NIGHTLY_TARGETS := psgd psgd_models_bench psgd_algorithms_bench
AGAINST ?=
AB_ARGS ?=
nightly: deps nightly-deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target $(NIGHTLY_TARGETS)
ifeq ($(strip $(AGAINST)),)
	$(PYTHON) experiments/nightly/run_nightly.py --psgd $(PSGD) --bench-dir build/release
else
	$(PYTHON) experiments/nightly/ab.py --against '$(AGAINST)' --b-dir build/release \
	  --jobs $(JOBS) $(AB_ARGS)
endif

nightly-baseline: deps nightly-deps
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS) --target $(NIGHTLY_TARGETS)
	$(PYTHON) experiments/nightly/run_nightly.py --psgd $(PSGD) --bench-dir build/release \
	  --update-baseline

# The quick scale of every experiment spec into results/<spec>-quick/ with the binary just built
# (resuming the results of that same build; results of another build are redone, and the
# committed examples live apart in results/examples/), then every figure into plots/figures/. The full scale: plots/make_figures.sh build/release/psgd full.
figures: release plots-deps
	PYTHON=$(PYTHON) plots/make_figures.sh $(PSGD) quick plots/figures

# One page of every committed example sweep (results/examples/*/, with the figures of
# plots/figures and their captions): `psgd report` of the dev build (the page computes nothing
# the build could change), then plots/test/browser_report.py opens it in headless chromium
# (no console error, one row per run of the examples' index.csv files, sorting, a screenshot).
# Written to build/report/examples.html (several MB: the figures are inlined, so it is an
# artefact, not committed) and build/report/examples.png.
REPORT_SWEEPS = $(sort $(wildcard results/examples/*/index.csv))
report: deps test-deps browser-deps
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS) --target psgd
	build/dev/psgd report $(dir $(REPORT_SWEEPS)) --figures plots/figures \
	  --title "psgd: the committed example sweeps" --out build/report/examples.html
	$(PYTHON) plots/test/browser_report.py --report build/report/examples.html \
	  --runs $$(for f in $(REPORT_SWEEPS); do tail -n +2 $$f; done | wc -l) \
	  --screenshot build/report/examples.png

# Every committed figure redrawn from the committed results (results/examples/, results/nightly/)
# into plots/figures/, with no run: what docs/studies.md shows.
figures-examples: plots-deps
	PYTHON=$(PYTHON) plots/draw_examples.sh plots/figures

clean:
	rm -rf build
