// algorithms/test/contract_test.cpp — every registered algorithm held to the duties of
// algorithms/algorithm.hpp (contract_checks.hpp), one test per entry of builtin_algorithms() and
// duty, with no list here: registering an algorithm is what covers it. And the checks shown
// able to fail: a sequential toy that skips one duty at a time is caught by them each time.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "algorithms/registry.hpp"
#include "algorithms/shared_memory.hpp"
#include "algorithms/test/contract_checks.hpp"
#include "algorithms/worker_steps.hpp"

namespace psgd {
namespace {

using testing::lines;

std::vector<std::string> builtin_names() {
  std::vector<std::string> names;
  for (const AlgorithmEntry& e : builtin_algorithms().entries()) names.emplace_back(e.name);
  return names;
}

// "async-exchange" -> "async_exchange": a test name may hold letters, digits and '_' only.
std::string test_name(const ::testing::TestParamInfo<std::string>& p) {
  std::string s = p.param;
  for (char& c : s) {
    if (c == '-') c = '_';
  }
  return s;
}

class Contract : public ::testing::TestWithParam<std::string> {
 protected:
  [[nodiscard]] const AlgorithmEntry& entry() const { return builtin_algorithms().at(GetParam()); }
};

TEST_P(Contract, OneThreadIsSeqBitForBit) {
  if (!entry().one_thread_is_seq) GTEST_SKIP() << "its entry claims no option values for this";
  EXPECT_EQ(lines(testing::one_thread_seq_violations<float>(entry())), "");
  EXPECT_EQ(lines(testing::one_thread_seq_violations<double>(entry())), "");
}

TEST_P(Contract, AppliesExactlyTheBudgetWithItsAccounting) {
  for (const int threads : testing::contract_threads(entry())) {
    SCOPED_TRACE(std::to_string(threads) + " thread(s)");
    EXPECT_EQ(lines(testing::budget_violations(entry(), threads)), "");
  }
}

TEST_P(Contract, DropsANonFiniteLoss) {
  for (const int threads : testing::contract_threads(entry())) {
    SCOPED_TRACE(std::to_string(threads) + " thread(s)");
    EXPECT_EQ(lines(testing::non_finite_violations(entry(), threads)), "");
  }
}

TEST_P(Contract, StopsWhenAsked) {
  for (const int threads : testing::contract_threads(entry())) {
    SCOPED_TRACE(std::to_string(threads) + " thread(s)");
    EXPECT_EQ(lines(testing::stop_violations(entry(), threads)), "");
  }
}

INSTANTIATE_TEST_SUITE_P(Registered, Contract, ::testing::ValuesIn(builtin_names()), test_name);

// Guards the instantiation above against covering nothing (a registry that failed to list).
TEST(ContractCoverage, EveryBuiltinAlgorithmIsAParameter) {
  EXPECT_EQ(builtin_names().size(), builtin_algorithms().entries().size());
  EXPECT_GE(builtin_names().size(), 12U);
}

// ---- the checks can fail: one duty skipped at a time ------------------------------------------

enum class Skip {
  kNothing,
  kDropNonFinite,
  kNoteApplied,
  kOneBasedVersion,
  kBudget,
  kSharedMemory,
  kContributed
};

// Sequential SGD (seq.cpp's loop) with one duty left out.
template <class S, Skip kSkip>
class SkipsADuty final : public BasicAlgorithm<S> {
 public:
  [[nodiscard]] std::string_view name() const override { return "skips-a-duty"; }
  void init(std::span<const S> theta0, const BasicTrainingSetup<S>& setup) override {
    if constexpr (kSkip == Skip::kSharedMemory) {
      own_.assign(theta0.begin(), theta0.end());
    } else {
      shared_ = SharedArray<S>::copy_of(*setup.shared_memory, theta0);
    }
    step_ = setup.step;
  }
  void run_worker(BasicWorkerContext<S>& ctx) noexcept override {
    const std::int64_t total = ctx.control->total_updates() + (kSkip == Skip::kBudget ? 1 : 0);
    for (std::int64_t v = 0; v < total && !ctx.control->should_stop(); ++v) {
      const S loss = compute_gradient(ctx, params());
      if (kSkip != Skip::kDropNonFinite && !std::isfinite(loss)) {
        ++ctx.stats->discarded_at_end;
        break;
      }
      sgd_apply(params(), ctx.grad, step_);
      if constexpr (kSkip != Skip::kContributed) ++ctx.stats->contributed;
      if constexpr (kSkip == Skip::kNoteApplied) {
        ++ctx.stats->applied;  // counted, but no staleness, attempts, loss or snapshot
        continue;
      }
      const std::int64_t version = kSkip == Skip::kOneBasedVersion ? v : v + 1;
      note_applied(ctx, version, 0, 0, loss,
                   [&] { return ctx.checkpoints->record(version, params()); });
    }
  }
  void read_params(std::span<S> out) const override {
    const std::span<const S> p =
        kSkip == Skip::kSharedMemory ? std::span<const S>(own_) : shared_.span();
    std::copy(p.begin(), p.end(), out.begin());
  }

 private:
  std::span<S> params() noexcept {
    return kSkip == Skip::kSharedMemory ? std::span<S>(own_) : shared_.span();
  }
  SharedArray<S> shared_;
  std::vector<S> own_;
  S step_ = 0;
};

template <Skip kSkip>
AlgorithmEntry skips(std::string_view name) {
  return {name,
          "seq with a duty skipped",
          1,
          1,
          {},
          []<class S>(const AlgorithmSetup&) {
            return std::make_unique<SkipsADuty<S, kSkip>>(); }};
}

// Whether some violation contains `text`.
bool names(const testing::Violations& found, std::string_view text) {
  return std::any_of(found.begin(), found.end(),
                     [&](const std::string& v) { return v.find(text) != std::string::npos; });
}

TEST(ContractChecks, PassTheToyThatSkipsNothing) {
  EXPECT_EQ(lines(testing::contract_violations(skips<Skip::kNothing>("nothing"))), "");
}

TEST(ContractChecks, CatchEachSkippedDuty) {
  struct Case {
    AlgorithmEntry entry;
    std::string_view expected;  // in one of its violations
  };
  const std::vector<Case> cases = {
      {skips<Skip::kDropNonFinite>("applies-nan"), "the final parameters are not finite"},
      {skips<Skip::kNoteApplied>("no-note"), "(note_applied once per applied update)"},
      {skips<Skip::kOneBasedVersion>("zero-based"), "snapshot slot"},
      {skips<Skip::kBudget>("one-more"), "applied 504 updates of a budget of 503"},
      {skips<Skip::kSharedMemory>("own-vector"), "through SharedMemory, less than the parameters"},
      {skips<Skip::kContributed>("uncounted"), "(every gradient contributed or counted lost)"},
  };
  for (const Case& c : cases) {
    const testing::Violations found = testing::contract_violations(c.entry);
    EXPECT_TRUE(names(found, c.expected))
        << c.entry.name << " should violate '" << c.expected << "'; found:\n"
        << lines(found);
  }
}

}  // namespace
}  // namespace psgd
