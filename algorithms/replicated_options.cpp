// algorithms/replicated_options.cpp — the options and the registry entry of `replicated`.
//
// --exchange-every default 64: a few hundred exchanges an epoch at the default batch (1,875
// updates an epoch of Fashion-MNIST at b = 32), where an average costs R parameter vectors of
// memory traffic and a round's barrier; DimmWitted averages once an epoch, which is
// --exchange-every = updates per epoch / R. --ring-mix default 0.5: the receiver's model and the
// sender's weigh alike (replicated_ring.hpp).
#include "algorithms/replicated_options.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include "algorithms/hogwild.hpp"
#include "algorithms/leashed.hpp"
#include "algorithms/mutex.hpp"
#include "algorithms/replicated_ring.hpp"
#include "algorithms/rwlock.hpp"
#include "common/errors.hpp"
#include "common/name_table.hpp"
#include "common/parse_number.hpp"

namespace psgd {
namespace {

inline constexpr NameTable<ReplicaExchange, 2> kExchangeNames{{
    {"average", ReplicaExchange::kAverage},
    {"ring", ReplicaExchange::kRing},
}};

std::vector<AlgorithmEntry> inner_entries() {
  std::vector<AlgorithmEntry> all;
  all.push_back(mutex_entry());
  all.push_back(rwlock_entry());
  all.push_back(hogwild_entry());
  all.push_back(leashed_entry());
  return all;
}

const AlgorithmEntry& inner_entry(std::string_view name) {
  static const std::vector<AlgorithmEntry> entries = inner_entries();
  for (const AlgorithmEntry& e : entries) {
    if (e.name == name) return e;
  }
  throw ConfigError("--inner must be mutex, rwlock, hogwild or leashed, got '" + std::string(name) +
                    "'");
}

}  // namespace

const AlgorithmOption& inner_option() {
  static const AlgorithmOption o = AlgorithmOption::make<std::string>(
      "inner", "METHOD",
      "replicated: the method each replica runs on its own parameters: mutex | rwlock | hogwild "
      "| leashed (its own options apply)",
      "mutex",
      [](std::string_view text) {
        if (std::find(kReplicaInnerMethods.begin(), kReplicaInnerMethods.end(), text) ==
            kReplicaInnerMethods.end()) {
          bad_option_value("inner", text, "mutex, rwlock, hogwild or leashed");
        }
        return std::string(text);
      },
      [](const std::string& name) { return nlohmann::json(name); });
  return o;
}

const AlgorithmOption& replicas_option() {
  static const AlgorithmOption o = AlgorithmOption::make<ReplicaChoice>(
      "replicas", "R",
      "replicated: model replicas: per-core | per-node (one per NUMA node the placement pins "
      "workers on; unpinned: one) | per-machine | N (<= --threads)",
      ReplicaChoice{}, [](std::string_view text) { return parse_replica_choice(text); },
      [](const ReplicaChoice& c) { return nlohmann::json(replica_choice_name(c)); });
  return o;
}

const AlgorithmOption& exchange_option() {
  static const AlgorithmOption o = AlgorithmOption::make<ReplicaExchange>(
      "exchange", "RULE",
      "replicated: between replicas: average (every --exchange-every updates per replica, on a "
      "barrier) | ring (Hogwild++'s token ring, asynchronous)",
      ReplicaExchange::kAverage,
      [](std::string_view text) { return parse_name(kExchangeNames, "exchange", text); },
      [](const ReplicaExchange& e) {
        return nlohmann::json(std::string(name_of(kExchangeNames, e)));
      });
  return o;
}

const AlgorithmOption& exchange_every_option() {
  static const AlgorithmOption o = AlgorithmOption::make<std::int64_t>(
      "exchange-every", "H",
      "replicated: updates each replica applies between two of its exchanges", 64,
      [](std::string_view text) { return parse_int_option("exchange-every", text, 1); },
      [](const std::int64_t& h) { return nlohmann::json(h); });
  return o;
}

const AlgorithmOption& ring_mix_option() {
  static const AlgorithmOption o = AlgorithmOption::make<double>(
      "ring-mix", "BETA",
      "replicated --exchange ring: weight of the received model in the token holder's mix, "
      "in (0, 1]",
      0.5,
      [](std::string_view text) {
        const double beta = parse_positive_option("ring-mix", text);
        if (beta > 1.0) bad_option_value("ring-mix", text, "a number in (0, 1]");
        return beta;
      },
      [](const double& beta) { return nlohmann::json(beta); });
  return o;
}

AlgorithmEntry replicated_entry() {
  std::vector<const AlgorithmOption*> options = {&inner_option(), &replicas_option(),
                                                 &exchange_option(), &exchange_every_option(),
                                                 &ring_mix_option()};
  for (const AlgorithmEntry& e : inner_entries()) {
    for (const AlgorithmOption* o : e.options) {
      if (std::find(options.begin(), options.end(), o) == options.end()) options.push_back(o);
    }
  }
  return {"replicated",
          "model replicas (per core, node or machine) each running --inner, exchanged by "
          "average or token ring",
          1,
          AlgorithmEntry::kAnyThreads,
          std::move(options),
          []<class S>(const AlgorithmSetup& s) -> AlgorithmPtr<S> {
            ReplicatedOptions o;
            o.inner = s.settings.get<std::string>(inner_option());
            o.replicas = s.settings.get<ReplicaChoice>(replicas_option());
            o.exchange = s.settings.get<ReplicaExchange>(exchange_option());
            o.exchange_every = s.settings.get<std::int64_t>(exchange_every_option());
            o.ring_mix = s.settings.get<double>(ring_mix_option());
            if (o.replicas.kind == ReplicaKind::kCount && o.replicas.count > s.threads) {
              throw ConfigError("--replicas " + std::to_string(o.replicas.count) +
                                " exceeds --threads " + std::to_string(s.threads) +
                                "; valid: per-core, per-node, per-machine or N <= --threads");
            }
            const AlgorithmEntry& inner = inner_entry(o.inner);
            // An inner method's option that this inner method does not take, refused as the
            // registry refuses it for a method of its own.
            const AlgorithmRegistry& all = builtin_algorithms();
            for (const AlgorithmOption* opt : all.at("replicated").options) {
              const bool own = opt == &inner_option() || opt == &replicas_option() ||
                               opt == &exchange_option() || opt == &exchange_every_option() ||
                               opt == &ring_mix_option();
              if (!own && !inner.accepts(opt->name()) && s.settings.differs_from_default(*opt)) {
                throw OptionNotAcceptedError("--" + std::string(opt->name()) +
                                                 " applies to: " + all.accepted_by(opt->name()) +
                                                 " (not --inner " + o.inner + ")",
                                             std::string(opt->name()), "replicated");
              }
            }
            if (o.exchange != ReplicaExchange::kRing &&
                s.settings.differs_from_default(ring_mix_option())) {
              throw ConfigError("--ring-mix applies to --exchange ring (not --exchange average)");
            }
            // The inner factory checks its own values now, on the run's whole thread count.
            (void)inner.make.build<S>(s);
            const AlgorithmSettings settings = s.settings;
            const std::uint64_t seed = s.seed;
            typename ReplicaSet<S>::InnerFactory make_inner = [&inner, settings,
                                                               seed](int threads) {
              return inner.make.build<S>(AlgorithmSetup{settings, seed, threads, nullptr});
            };
            return std::make_unique<ReplicatedSgd<S>>(std::move(o), std::move(make_inner));
          }};
}

}  // namespace psgd
