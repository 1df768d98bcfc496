// algorithms/registry.cpp — the registry mechanism and the algorithms psgd ships.
#include "algorithms/registry.hpp"

#include <algorithm>
#include <stdexcept>

#include "algorithms/async_exchange.hpp"
#include "algorithms/hogwild.hpp"
#include "algorithms/leashed.hpp"
#include "algorithms/local_sgd.hpp"
#include "algorithms/mutex.hpp"
#include "algorithms/nonblocking.hpp"
#include "algorithms/param_server.hpp"
#include "algorithms/replicated_options.hpp"
#include "algorithms/rwlock.hpp"
#include "algorithms/seq.hpp"
#include "algorithms/sync.hpp"
#include "common/errors.hpp"

namespace psgd {

bool AlgorithmEntry::accepts(std::string_view option) const noexcept {
  return std::any_of(options.begin(), options.end(),
                     [&](const AlgorithmOption* o) { return o->name() == option; });
}

std::int64_t AlgorithmEntry::nominal_gradients_per_update(const AlgorithmSetup& setup) const {
  return gradients_per_update ? std::max<std::int64_t>(gradients_per_update(setup), 1) : 1;
}

AlgorithmSettings AlgorithmEntry::settings_with(const std::vector<OptionText>& values) const {
  AlgorithmSettings settings;
  for (const OptionText& v : values) {
    const auto it = std::find_if(options.begin(), options.end(),
                                 [&](const AlgorithmOption* o) { return o->name() == v.option; });
    if (it == options.end()) {
      throw std::logic_error("algorithm '" + std::string(name) + "' has no option --" +
                             std::string(v.option));
    }
    settings.set(**it, v.text);
  }
  return settings;
}

void AlgorithmRegistry::add(AlgorithmEntry entry) {
  for (const AlgorithmEntry& e : entries_) {
    if (e.name == entry.name) {
      throw std::logic_error("algorithm '" + std::string(entry.name) + "' registered twice");
    }
  }
  entries_.push_back(std::move(entry));
}

const AlgorithmEntry& AlgorithmRegistry::at(std::string_view name) const {
  std::string valid;
  for (const AlgorithmEntry& e : entries_) {
    if (e.name == name) return e;
    valid += (valid.empty() ? "" : ", ") + std::string(e.name);
  }
  throw ConfigError("unknown algorithm '" + std::string(name) + "'; valid: " + valid);
}

std::vector<const AlgorithmOption*> AlgorithmRegistry::options() const {
  std::vector<const AlgorithmOption*> all;
  for (const AlgorithmEntry& e : entries_) {
    for (const AlgorithmOption* o : e.options) {
      const bool seen = std::any_of(
          all.begin(), all.end(), [&](const AlgorithmOption* a) { return a->name() == o->name(); });
      if (!seen) all.push_back(o);
    }
  }
  return all;
}

std::string AlgorithmRegistry::accepted_by(std::string_view name) const {
  std::string names;
  for (const AlgorithmEntry& e : entries_) {
    if (e.accepts(name)) names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  return names;
}

std::string AlgorithmRegistry::across_processes() const {
  std::string names;
  for (const AlgorithmEntry& e : entries_) {
    if (e.across_processes) names += (names.empty() ? "" : ", ") + std::string(e.name);
  }
  return names;
}

void AlgorithmRegistry::check_across_processes(std::string_view name) const {
  const AlgorithmEntry& e = at(name);
  if (!e.across_processes) {
    throw ConfigError("--backend mpi applies to: " + across_processes() + " (not --algo " +
                      std::string(e.name) + ")");
  }
}

void AlgorithmRegistry::check(std::string_view name, const AlgorithmSetup& setup) const {
  const AlgorithmEntry& e = at(name);
  if (setup.threads < e.min_threads || setup.threads > e.max_threads) {
    const std::string range = e.min_threads == e.max_threads
                                  ? std::to_string(e.min_threads)
                                  : "at least " + std::to_string(e.min_threads);
    throw ConfigError("--algo " + std::string(e.name) + " runs with --threads " + range + ", got " +
                      std::to_string(setup.threads));
  }
  if (setup.group != nullptr) check_across_processes(name);
  for (const AlgorithmOption* o : options()) {
    if (!e.accepts(o->name()) && setup.settings.differs_from_default(*o)) {
      throw OptionNotAcceptedError("--" + std::string(o->name()) +
                                       " applies to: " + accepted_by(o->name()) + " (not --algo " +
                                       std::string(e.name) + ")",
                                   std::string(o->name()), std::string(e.name));
    }
  }
  // The factory's own checks of the values (they do not depend on the precision).
  (void)e.make.build<float>(setup);
}

std::string AlgorithmRegistry::help() const {
  std::string s;
  for (const AlgorithmEntry& e : entries_) {
    const std::string name(e.name);
    s += "  " + name + std::string(name.size() < 16 ? 16 - name.size() : 1, ' ') +
         std::string(e.description) + "\n";
    if (e.options.empty()) continue;
    s.append(18, ' ').append("options:");
    for (const AlgorithmOption* o : e.options) s += " --" + std::string(o->name());
    s += "\n";
  }
  return s;
}

const AlgorithmRegistry& builtin_algorithms() {
  static const AlgorithmRegistry registry = [] {
    AlgorithmRegistry r;
    r.add(seq_entry());
    r.add(mutex_entry());
    r.add(rwlock_entry());
    r.add(hogwild_entry());
    r.add(hogwild_atomic_entry());
    r.add(leashed_entry());
    r.add(sync_entry());
    r.add(param_server_entry());
    r.add(hybrid_entry());
    r.add(local_sgd_entry());
    r.add(async_exchange_entry());
    r.add(nonblocking_entry());
    r.add(replicated_entry());
    return r;
  }();
  return registry;
}

}  // namespace psgd
