// harness/run/evaluation.cpp — chunked evaluation of snapshots.
#include "harness/run/evaluation.hpp"

#include <algorithm>
#include <atomic>
#include <system_error>
#include <thread>

namespace psgd {
namespace {

// Evaluation batch: large enough for efficient GEMMs, small enough that the per-thread
// workspace of the CNNs (im2col buffers) stays a few MB.
constexpr std::size_t kEvalChunk = 256;

struct SplitSums {
  double loss_sum = 0.0;
  std::int64_t correct = 0;
  std::int64_t count = 0;
};

template <class S>
SplitSums evaluate_split(const BasicModel<S>& model, std::span<const S> params, const Dataset& data,
                         std::size_t max_samples, Workspace& ws, std::vector<S>& features,
                         std::vector<std::int32_t>& labels) {
  const std::size_t n = max_samples == 0 ? data.size() : std::min(max_samples, data.size());
  SplitSums sums;
  for (std::size_t first = 0; first < n; first += kEvalChunk) {
    const std::size_t m = std::min(kEvalChunk, n - first);
    data.gather_range(first, m, features.data(), labels.data());
    const EvalSums e = model.evaluate(
        params, BasicBatch<S>{features.data(), labels.data(), m, data.num_features()}, ws);
    sums.loss_sum += e.loss_sum;
    sums.correct += e.correct;
    sums.count += e.count;
  }
  return sums;
}

template <class S>
EvalPoint evaluate_with(const BasicModel<S>& model, std::span<const S> params,
                        const DataSplit& data, std::size_t max_samples, Workspace& ws,
                        std::vector<S>& features, std::vector<std::int32_t>& labels) {
  const SplitSums train =
      evaluate_split(model, params, data.train, max_samples, ws, features, labels);
  const SplitSums test = evaluate_split(model, params, data.test, 0, ws, features, labels);
  EvalPoint p;
  p.train_loss = train.count > 0 ? train.loss_sum / static_cast<double>(train.count) : 0.0;
  p.test_loss = test.count > 0 ? test.loss_sum / static_cast<double>(test.count) : 0.0;
  p.test_accuracy =
      test.count > 0 ? static_cast<double>(test.correct) / static_cast<double>(test.count) : 0.0;
  return p;
}

}  // namespace

template <class S>
EvalPoint evaluate_params(const BasicModel<S>& model,
                          std::span<const std::type_identity_t<S>> params, const DataSplit& data,
                          std::size_t max_samples) {
  auto ws = model.make_workspace(kEvalChunk);
  std::vector<S> features(kEvalChunk * data.train.num_features());
  std::vector<std::int32_t> labels(kEvalChunk);
  return evaluate_with(model, params, data, max_samples, *ws, features, labels);
}

template <class S>
std::vector<EvalPoint> evaluate_all(const BasicModel<S>& model,
                                    const std::vector<std::span<const S>>& snapshots,
                                    const DataSplit& data, std::size_t max_samples, int threads) {
  std::vector<EvalPoint> points(snapshots.size());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    auto ws = model.make_workspace(kEvalChunk);
    std::vector<S> features(kEvalChunk * data.train.num_features());
    std::vector<std::int32_t> labels(kEvalChunk);
    // relaxed: the counter only hands out distinct indices; results are read after the join.
    for (std::size_t k = next.fetch_add(1, std::memory_order_relaxed); k < snapshots.size();
         k = next.fetch_add(1, std::memory_order_relaxed)) {
      points[k] = evaluate_with(model, snapshots[k], data, max_samples, *ws, features, labels);
    }
  };
  const auto hw = static_cast<int>(std::max(1U, std::thread::hardware_concurrency()));
  const int n = std::clamp(std::min(threads, hw), 1,
                           static_cast<int>(std::max<std::size_t>(snapshots.size(), 1)));
  {
    std::vector<std::jthread> pool;
    for (int t = 1; t < n; ++t) {
      try {
        pool.emplace_back(work);
      } catch (const std::system_error&) {
        break;  // no thread to spare (pid or thread limit): the threads there are share the work
      }
    }
    work();
  }
  return points;
}

template EvalPoint evaluate_params(const BasicModel<float>&, std::span<const float>,
                                   const DataSplit&, std::size_t);
template EvalPoint evaluate_params(const BasicModel<double>&, std::span<const double>,
                                   const DataSplit&, std::size_t);
template std::vector<EvalPoint> evaluate_all(const BasicModel<float>&,
                                             const std::vector<std::span<const float>>&,
                                             const DataSplit&, std::size_t, int);
template std::vector<EvalPoint> evaluate_all(const BasicModel<double>&,
                                             const std::vector<std::span<const double>>&,
                                             const DataSplit&, std::size_t, int);

}  // namespace psgd
