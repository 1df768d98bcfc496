// algorithms/test/section_timing_test.cpp — the per-update timing (WorkerStats::
// read_section_seconds ... timed_updates) a run's speed_of_light block turns into its update
// split and the lock methods' critical-section bound: the lock methods (locked_sgd.hpp) time every
// iteration that reached the apply lock, the HOGWILD! methods (hogwild.hpp) every applied update;
// each part took time, the parts fit in the run's wall time, and leashed times nothing.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/runner.hpp"
#include "algorithms/test/toy_models.hpp"
#include "models/model_factory.hpp"

namespace psgd {
namespace {

TrainingOutcome run_two_workers(const std::string& name) {
  static const Dataset data = testing::random_floats(512, 16, 4, 5);
  const auto model = make_model<float>("linear", Activation::kRelu, ImageShape{1, 1, 16}, 4);
  std::vector<float> theta0(model->num_params(), 0.0F);
  RunnerOptions o;
  o.threads = 2;
  o.batch_size = 8;
  o.step = 0.01;
  o.total_updates = 200;
  o.updates_per_epoch = 200;
  o.checkpoints_per_epoch = 1;
  const AlgorithmSettings defaults;
  const AlgorithmPtr<float> algo =
      builtin_algorithms().make<float>(name, AlgorithmSetup{defaults, /*seed=*/1, 2});
  return run_training<float>(*algo, *model, data, theta0, o);
}

// A worker that timed updates spent time in each of the three parts.
void expect_every_part_took_time(const WorkerStats& s, const char* name) {
  if (s.timed_updates == 0) return;
  EXPECT_GT(s.read_section_seconds, 0.0) << name;
  EXPECT_GT(s.gradient_seconds, 0.0) << name;
  EXPECT_GT(s.apply_section_seconds, 0.0) << name;
}

TEST(SectionTiming, LockMethodsTimeEveryUpdateThatReachedTheApplyLock) {
  for (const char* name : {"mutex", "rwlock"}) {
    const TrainingOutcome r = run_two_workers(name);
    std::int64_t timed = 0;
    for (const WorkerStats& s : r.workers) {
      // Applied, or found the budget spent under the lock: both held the apply lock once.
      EXPECT_EQ(s.timed_updates, s.applied + s.discarded_at_end) << name;
      expect_every_part_took_time(s, name);
      timed += s.timed_updates;
    }
    EXPECT_GE(timed, 200) << name << ": every applied update is timed";
  }
}

// Each worker's read + gradient + apply fits in the run's wall time (the worker ran within it,
// and the parts do not overlap), each part took time, and only applied updates are timed.
TEST(HogwildTimeSplit, EveryAppliedUpdateIsTimedWithinTheWallTime) {
  for (const char* name : {"hogwild", "hogwild-atomic"}) {
    const TrainingOutcome r = run_two_workers(name);
    ASSERT_EQ(r.applied_updates, 200) << name;
    std::int64_t timed = 0;
    for (const WorkerStats& s : r.workers) {
      EXPECT_EQ(s.timed_updates, s.applied) << name;
      const double parts = s.read_section_seconds + s.gradient_seconds + s.apply_section_seconds;
      EXPECT_LE(parts, r.wall_seconds) << name;
      expect_every_part_took_time(s, name);
      timed += s.timed_updates;
    }
    EXPECT_EQ(timed, 200) << name << ": every applied update is timed, once";
  }
}

// Leashed-SGD has neither a lock nor a copy to time: its split stays empty (update_split null).
TEST(SectionTiming, LeashedTimesNothing) {
  const WorkerStats total = merge_workers(run_two_workers("leashed").workers);
  EXPECT_EQ(total.timed_updates, 0);
  EXPECT_EQ(total.read_section_seconds + total.gradient_seconds + total.apply_section_seconds, 0.0);
}

}  // namespace
}  // namespace psgd
