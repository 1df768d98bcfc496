// algorithms/test/test_support.hpp — what the algorithm tests share besides the toy problems
// (toy_models.hpp): the runner options of a small run, a bit-for-bit comparison, the check that
// one thread of an algorithm is sequential SGD and the snapshots of a barrier-round method.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <vector>

#include "algorithms/runner.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/test/toy_models.hpp"
#include "models/batch_sampler.hpp"
#include "models/dataset.hpp"
#include "models/model.hpp"

namespace psgd::testing {

// A small run on a toy problem: `threads` workers, batch 4, step 0.01, 500 updates in epochs of
// 100, one checkpoint an epoch, 256 staleness bins. Each test changes what it is about.
inline RunnerOptions small_run(int threads, std::uint64_t seed) {
  RunnerOptions o;
  o.threads = threads;
  o.seed = seed;
  o.batch_size = 4;
  o.step = 0.01F;  // float tests step by the float 0.01, as they always did
  o.total_updates = 500;
  o.updates_per_epoch = 100;
  o.checkpoints_per_epoch = 1;
  o.staleness_bins = 256;
  return o;
}

// The same values bit for bit (not ==, which equates 0 and -0 and fails on NaN).
template <class S>
bool same_bits(std::span<const S> a, std::span<const S> b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(S)) == 0;
}
// For float vectors without naming the type (a template cannot deduce S from a vector).
inline bool same_bits(std::span<const float> a, std::span<const float> b) {
  return same_bits<float>(a, b);
}

// The mean loss over the whole data set at theta: one batch of every sample (convergence checks).
inline double full_loss(const Model& model, const Dataset& data, std::span<const float> theta) {
  BatchSampler all(data, data.size(), 3);
  std::vector<float> grad(theta.size());
  const std::unique_ptr<Workspace> ws = model.make_workspace(data.size());
  return model.loss_and_gradient(theta, all.next(), grad, *ws);
}

// One thread of `algo` reproduces seq in precision S bit for bit: final parameters, every
// snapshot and the minibatch losses.
template <class S>
void expect_one_thread_matches_seq(BasicAlgorithm<S>& algo) {
  const LeastSquares<S> model(12);
  const Dataset data = random_floats(200, 12, 4, 3);
  std::vector<S> theta0(model.num_params());
  for (std::size_t i = 0; i < theta0.size(); ++i) theta0[i] = S{0.1F} * static_cast<S>(i % 5);
  RunnerOptions o;
  o.threads = 1;
  o.seed = 11;
  o.checkpoints_per_epoch = 1;
  o.staleness_bins = 256;
  o.batch_size = 8;
  o.step = 0.05;  // not a float value: a double run must step by the double
  o.total_updates = 300;
  o.updates_per_epoch = 40;
  SequentialSgd<S> seq;
  const BasicTrainingOutcome<S> want = run_training<S>(seq, model, data, theta0, o);
  const BasicTrainingOutcome<S> got = run_training<S>(algo, model, data, theta0, o);
  EXPECT_TRUE(same_bits<S>(got.final_params, want.final_params));
  EXPECT_FALSE(same_bits<S>(got.final_params, theta0));
  const WorkerStats all = merge_workers(got.workers);
  EXPECT_EQ(all.applied, 300);
  EXPECT_EQ(all.computed, 300);
  EXPECT_EQ(all.staleness.max(), 0);
  EXPECT_EQ(all.staleness.count(), 300);
  for (std::size_t k = 1; k < want.checkpoints->num_slots(); ++k) {
    ASSERT_EQ(got.checkpoints->slot(k).filled, want.checkpoints->slot(k).filled) << "slot " << k;
    if (!want.checkpoints->slot(k).filled) continue;
    EXPECT_EQ(got.checkpoints->slot(k).updates, want.checkpoints->slot(k).updates);
    EXPECT_TRUE(same_bits<S>(got.checkpoints->params(k), want.checkpoints->params(k)))
        << "slot " << k;
  }
  EXPECT_EQ(got.workers[0].slot_loss_count, want.workers[0].slot_loss_count);
  EXPECT_EQ(got.workers[0].slot_loss_sum, want.workers[0].slot_loss_sum);
}

// One thread of `algo` ends where seq ends, bit for bit, on expect_one_thread_matches_seq's
// problem; for the methods whose snapshots can only hold a round's end (local-sgd with H > 1,
// nonblocking with K > 1), which that check would fail. Returns the run, for checks of its own.
template <class S>
BasicTrainingOutcome<S> expect_one_thread_final_state_matches_seq(BasicAlgorithm<S>& algo) {
  const LeastSquares<S> model(12);
  const Dataset data = random_floats(200, 12, 4, 3);
  std::vector<S> theta0(model.num_params());
  for (std::size_t i = 0; i < theta0.size(); ++i) theta0[i] = S{0.1F} * static_cast<S>(i % 5);
  RunnerOptions o = small_run(1, 11);
  o.batch_size = 8;
  o.step = 0.05;
  o.total_updates = 300;
  o.updates_per_epoch = 40;
  SequentialSgd<S> seq;
  const BasicTrainingOutcome<S> want = run_training<S>(seq, model, data, theta0, o);
  BasicTrainingOutcome<S> got = run_training<S>(algo, model, data, theta0, o);
  EXPECT_TRUE(same_bits<S>(got.final_params, want.final_params));
  EXPECT_FALSE(same_bits<S>(got.final_params, theta0));
  EXPECT_EQ(got.applied_updates, 300);
  return got;
}

// The snapshots of a barrier-round method (round_frame.hpp) whose rounds apply `round` updates:
// a checkpoint due inside a round is recorded after it, so the checkpoint of update v, for
// v = every, 2 every, .. up to last, is filled and holds an update in [v, v + round).
inline void expect_round_snapshots(const TrainingOutcome& r, std::int64_t round, std::int64_t every,
                                   std::int64_t last) {
  for (std::int64_t v = every; v <= last; v += every) {
    const std::size_t k = r.checkpoints->slot_of(v);
    ASSERT_TRUE(r.checkpoints->slot(k).filled) << "update " << v;
    EXPECT_GE(r.checkpoints->slot(k).updates, v);
    EXPECT_LT(r.checkpoints->slot(k).updates, v + round);
  }
}

}  // namespace psgd::testing
