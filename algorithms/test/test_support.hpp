// algorithms/test/test_support.hpp — what the algorithm tests share besides the toy problems
// (toy_models.hpp): the runner options of a small run, a bit-for-bit comparison, the check that
// one thread of an algorithm is sequential SGD and the snapshots of a barrier-round method.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <utility>
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

using Violations = std::vector<std::string>;

// One thread of an algorithm and of seq on the same small problem: least squares on 200 samples
// of 12 features, batch 8, step 0.05 (not a float value: a double run must step by the double),
// 300 updates in epochs of 40, a checkpoint an epoch.
template <class S>
struct BesideSeq {
  std::vector<S> theta0;
  BasicTrainingOutcome<S> seq;
  BasicTrainingOutcome<S> got;
};

template <class S>
BesideSeq<S> run_beside_seq(BasicAlgorithm<S>& algo) {
  const LeastSquares<S> model(12);
  const Dataset data = random_floats(200, 12, 4, 3);
  BesideSeq<S> r;
  r.theta0.resize(model.num_params());
  for (std::size_t i = 0; i < r.theta0.size(); ++i) {
    r.theta0[i] = S{0.1F} * static_cast<S>(i % 5);
  }
  RunnerOptions o = small_run(1, 11);
  o.batch_size = 8;
  o.step = 0.05;
  o.total_updates = 300;
  o.updates_per_epoch = 40;
  SequentialSgd<S> seq;
  r.seq = run_training<S>(seq, model, data, r.theta0, o);
  r.got = run_training<S>(algo, model, data, r.theta0, o);
  return r;
}

// What differs from seq in a run_beside_seq: final parameters, counts, staleness, every snapshot
// and the minibatch losses (empty: one thread is seq bit for bit).
template <class S>
Violations seq_differences(const BesideSeq<S>& r) {
  const auto str = [](std::int64_t v) { return std::to_string(v); };
  Violations out;
  if (!same_bits<S>(r.got.final_params, r.seq.final_params)) {
    out.push_back("final parameters differ from seq's");
  }
  if (same_bits<S>(r.got.final_params, r.theta0)) out.push_back("the parameters never moved");
  const WorkerStats all = merge_workers(r.got.workers);
  if (all.applied != 300 || all.computed != 300 || all.staleness.count() != 300) {
    out.push_back("applied " + str(all.applied) + ", computed " + str(all.computed) + ", noted " +
                  str(all.staleness.count()) + " of seq's 300 updates");
  }
  if (all.staleness.max() != 0) out.push_back("staleness above 0 with one thread");
  const auto& want = *r.seq.checkpoints;
  const auto& got = *r.got.checkpoints;
  for (std::size_t k = 1; k < want.num_slots(); ++k) {
    const auto& w = want.slot(k);
    const auto& g = got.slot(k);
    if (g.filled != w.filled || g.updates != w.updates ||
        (w.filled && !same_bits<S>(got.params(k), want.params(k)))) {
      out.push_back("snapshot slot " + std::to_string(k) + " differs from seq's");
    }
  }
  if (r.got.workers[0].slot_loss_count != r.seq.workers[0].slot_loss_count ||
      r.got.workers[0].slot_loss_sum != r.seq.workers[0].slot_loss_sum) {
    out.push_back("minibatch losses per checkpoint differ from seq's");
  }
  return out;
}

// The violations one to a line, for a failure message.
inline std::string lines(const Violations& v) {
  std::string s;
  for (const std::string& line : v) s += "  " + line + "\n";
  return s;
}

// One thread of `algo` reproduces seq in precision S bit for bit: final parameters, every
// snapshot and the minibatch losses.
template <class S>
void expect_one_thread_matches_seq(BasicAlgorithm<S>& algo) {
  const Violations v = seq_differences(run_beside_seq(algo));
  EXPECT_TRUE(v.empty()) << "\n" << lines(v);
}

// One thread of `algo` ends where seq ends, bit for bit, on run_beside_seq's problem; for the
// methods whose snapshots can only hold a round's end (local-sgd with H > 1, nonblocking with
// K > 1), which that check would fail. Returns the run, for checks of its own.
template <class S>
BasicTrainingOutcome<S> expect_one_thread_final_state_matches_seq(BasicAlgorithm<S>& algo) {
  BesideSeq<S> r = run_beside_seq(algo);
  EXPECT_TRUE(same_bits<S>(r.got.final_params, r.seq.final_params));
  EXPECT_FALSE(same_bits<S>(r.got.final_params, r.theta0));
  EXPECT_EQ(r.got.applied_updates, 300);
  return std::move(r.got);
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
