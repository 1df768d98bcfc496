// algorithms/test/leashed_reclaim_stress_test.cpp — Leashed-SGD's reclamation oversubscribed: 8
// and 16 workers confined to 2 CPUs (so workers are preempted while holding references, the case
// that stresses the reference counts), many thousand updates each. The live vectors never exceed
// the 2N + 1 bound, only the latest survives the run, and every byte the algorithm allocated is
// returned when it is destroyed (counted here; LeakSanitizer checks the heap too in the asan
// preset, which runs this test with the rest of the suite).
#include <gtest/gtest.h>
#include <sched.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <vector>

#include "algorithms/leashed.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/shared_memory.hpp"
#include "algorithms/test/toy_models.hpp"

namespace psgd {
namespace {

// The heap, with the bytes outstanding counted: a vector the pool never returned stays counted.
class CountingMemory final : public SharedMemory {
 public:
  void* allocate(std::size_t bytes) override {
    void* p = heap_shared_memory().allocate(bytes);
    // relaxed: a statistic, read by the test thread after every worker has been joined.
    outstanding_.fetch_add(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
    return p;
  }
  void deallocate(void* p, std::size_t bytes) noexcept override {
    heap_shared_memory().deallocate(p, bytes);
    outstanding_.fetch_sub(static_cast<std::int64_t>(bytes), std::memory_order_relaxed);
  }
  [[nodiscard]] std::int64_t outstanding() const noexcept {
    return outstanding_.load(std::memory_order_relaxed);
  }

 private:
  std::atomic<std::int64_t> outstanding_{0};
};

// Confines this thread (and the workers it starts, which inherit the mask) to its first two
// allowed CPUs for the lifetime of the object, then restores the mask.
class TwoCpus {
 public:
  TwoCpus() {
    if (sched_getaffinity(0, sizeof previous_, &previous_) != 0) return;
    cpu_set_t two;
    CPU_ZERO(&two);
    int taken = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE && taken < 2; ++cpu) {
      if (CPU_ISSET(cpu, &previous_)) {
        CPU_SET(cpu, &two);
        ++taken;
      }
    }
    confined_ = sched_setaffinity(0, sizeof two, &two) == 0;
  }
  ~TwoCpus() {
    if (confined_) sched_setaffinity(0, sizeof previous_, &previous_);
  }
  TwoCpus(const TwoCpus&) = delete;
  TwoCpus& operator=(const TwoCpus&) = delete;

 private:
  cpu_set_t previous_{};
  bool confined_ = false;
};

// 300,000 updates per run: the four runs take 0.7 s in the dev build here (2 cores, load 13),
// long enough for many scheduler time slices, so workers are preempted holding references.
constexpr std::int64_t kUpdates = 300000;

void stress(int threads, std::int64_t persistence, bool test_before_cas) {
  SCOPED_TRACE(::testing::Message() << threads << " threads, persistence " << persistence
                                    << ", test-before-cas " << test_before_cas);
  const testing::LeastSquares model(64);
  const Dataset data = testing::random_floats(256, 64, 3, 2);
  CountingMemory memory;
  {
    LeashedOptions options;
    options.persistence = persistence;
    options.test_before_cas = test_before_cas;
    LeashedSgd<float, NoBackoff> algo(options, BackoffParams{64, 4096, 0.5, 7});
    RunnerOptions o;
    o.threads = threads;
    o.batch_size = 1;  // almost no gradient work: publishes collide as often as they can
    o.step = 0.001;
    o.total_updates = kUpdates;
    o.updates_per_epoch = 97;
    o.checkpoints_per_epoch = 1;
    o.staleness_bins = 256;
    o.shared_memory = &memory;
    const TrainingOutcome r =
        run_training(algo, model, data, std::vector<float>(model.num_params(), 0.0F), o);
    const WorkerStats all = merge_workers(r.workers);
    EXPECT_EQ(all.applied, kUpdates);
    EXPECT_EQ(all.computed, all.applied + all.dropped + all.discarded_at_end);
    EXPECT_EQ(algo.pool().live_bound(), 2 * threads + 1);
    EXPECT_LE(algo.pool().peak_live(), algo.pool().live_bound());
    EXPECT_EQ(algo.pool().live(), 1);  // only the latest survives the run
    EXPECT_GT(memory.outstanding(), 0);
  }
  EXPECT_EQ(memory.outstanding(), 0);  // the whole pool came back with the algorithm
}

TEST(LeashedReclaimStress, EightAndSixteenThreadsOnTwoCpusKeepTheBoundAndLeakNothing) {
  const TwoCpus confined;
  for (const int threads : {8, 16}) {
    stress(threads, LeashedOptions::kInfinite, false);
    stress(threads, 0, true);  // every failed publish drops: the most vectors recycled
  }
}

}  // namespace
}  // namespace psgd
