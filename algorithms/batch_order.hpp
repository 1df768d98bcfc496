// algorithms/batch_order.hpp — where a worker's batches come from (--batch-order): the runner
// builds the samplers by it, and each registry entry names its method's default.
#pragma once

#include "common/name_table.hpp"

namespace psgd {

enum class BatchOrder {
  kWorker,  // each worker walks its own permutation, reshuffled when used up (psgd's default)
  kShared,  // the reference framework's: one shuffle into ceil(N/b) batches, a shared counter
  // Worker w of W walks its own permutation of its own slice [floor(w N / W), floor((w+1) N / W)),
  // reshuffled when used up: the W workers make one pass together (the averaging study divides
  // the training set among the processors). One worker: the `worker` order bit for bit.
  kShard,
};
inline constexpr NameTable<BatchOrder, 3> kBatchOrders{{{"worker", BatchOrder::kWorker},
                                                        {"shared", BatchOrder::kShared},
                                                        {"shard", BatchOrder::kShard}}};

}  // namespace psgd
