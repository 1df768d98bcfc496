// harness/sweep/slurm/settings.cpp — the spec's slurm block, the command-line overrides, checks.
#include "harness/sweep/slurm/settings.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "common/errors.hpp"
#include "harness/sweep/child_process.hpp"
#include "harness/sweep/rank_launch.hpp"

namespace psgd {
namespace {

using nlohmann::json;
using nlohmann::ordered_json;

// Array tasks in one sbatch; Slurm's own MaxArraySize cannot exceed 4,000,001.
constexpr int kMaxArraySizeLimit = 4000001;

// sbatch options the backend writes itself: set elsewhere they would break one run per array
// task, the task's CPUs, or where the collector finds jobs, records and logs.
constexpr const char* kOwnedSbatchOptions[] = {
    "array",     "cpus-per-task", "job-name", "output", "error", "ntasks", "nodes",   "time",
    "partition", "account",       "mem",      "wrap",   "chdir", "export", "parsable"};

// A name that goes into a #SBATCH line as one word (partition, account).
std::string checked_word(const std::string& where, const std::string& value) {
  if (value.empty() || value.find_first_of(" \t\r\n'\"\\#") != std::string::npos) {
    throw ConfigError(where + " must be one word without spaces or quotes, got '" + value + "'");
  }
  return value;
}

// sbatch --mem: a positive integer with an optional unit K, M, G or T (megabytes without one).
std::string checked_mem(const std::string& where, const std::string& value) {
  std::size_t digits = 0;
  while (digits < value.size() && value[digits] >= '0' && value[digits] <= '9') ++digits;
  const std::string unit = value.substr(digits);
  const bool ok =
      digits > 0 && value.find_first_not_of('0') < digits &&
      (unit.empty() || (unit.size() == 1 && std::string("KMGT").find(unit) != std::string::npos));
  if (!ok) {
    throw ConfigError(where +
                      " must be a memory size as sbatch --mem takes it (e.g. 4G, 500M), "
                      "got '" +
                      value + "'");
  }
  return value;
}

int checked_count(const std::string& where, const std::string& text, int min, int max) {
  int v = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v < min || v > max) {
    throw ConfigError(where + " must be an integer in [" + std::to_string(min) + ", " +
                      std::to_string(max) + "], got '" + text + "'");
  }
  return v;
}

std::string block_string(const std::string& where, const ordered_json& v) {
  if (!v.is_string()) throw ConfigError(where + " must be a string, got " + v.dump());
  return v.get<std::string>();
}

int block_count(const std::string& where, const ordered_json& v, int min, int max) {
  if (!v.is_number_integer()) throw ConfigError(where + " must be an integer, got " + v.dump());
  return checked_count(where, v.dump(), min, max);
}

std::vector<std::string> block_extra(const ordered_json& v) {
  const ordered_json list = v.is_array() ? v : ordered_json::array({v});
  std::vector<std::string> out;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const std::string where = "slurm.extra[" + std::to_string(i) + "]";
    out.push_back(normalize_sbatch_option(where, block_string(where, list[i])));
  }
  return out;
}

std::string two_digits(long v) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%02ld", v);
  return buf;
}

}  // namespace

const std::vector<std::string>& slurm_block_keys() {
  static const std::vector<std::string> keys = {"partition",      "account",       "mem",
                                                "extra",          "runs_per_task", "max_running",
                                                "max_array_size", "nodes"};
  return keys;
}

SlurmSettings parse_slurm_block(const ordered_json& resolved_spec) {
  SlurmSettings s;
  if (!resolved_spec.is_object() || !resolved_spec.contains("slurm")) return s;
  const ordered_json& b = resolved_spec.at("slurm");
  if (!b.is_object()) throw ConfigError("slurm must be a JSON object, got " + b.dump());
  for (const auto& [key, v] : b.items()) {
    const std::string where = "slurm." + key;
    if (key == "partition") {
      s.partition = checked_word(where, block_string(where, v));
    } else if (key == "account") {
      s.account = checked_word(where, block_string(where, v));
    } else if (key == "mem") {
      s.mem = checked_mem(where, block_string(where, v));
    } else if (key == "extra") {
      s.extra = block_extra(v);
    } else if (key == "runs_per_task") {
      s.runs_per_task = block_count(where, v, 1, 1000000);
    } else if (key == "max_running") {
      s.max_running = block_count(where, v, 0, kMaxArraySizeLimit);
    } else if (key == "max_array_size") {
      s.max_array_size = block_count(where, v, 1, kMaxArraySizeLimit);
    } else if (key == "nodes") {
      s.nodes = block_count(where, v, 0, kMaxRanks);  // more nodes than ranks cannot be used
    } else {
      std::string valid;
      for (const std::string& k : slurm_block_keys()) valid += (valid.empty() ? "" : ", ") + k;
      throw ConfigError("slurm: unknown key '" + key + "'; valid: " + valid);
    }
  }
  return s;
}

const std::vector<Option<SlurmOverrides>>& slurm_cli_options() {
  using O = SlurmOverrides;
  static const std::vector<Option<O>> options = {
      {"runs-per-task", "N",
       "--backend slurm: runs one array task runs in turn (fewer, longer tasks)",
       [](O& o, std::string_view v) {
         o.runs_per_task = checked_count("--runs-per-task", std::string(v), 1, 1000000);
       },
       [](const O& o) { return o.runs_per_task ? json(*o.runs_per_task) : json("spec, else 1"); }},
      {"slurm-partition", "NAME", "--backend slurm: sbatch --partition",
       [](O& o, std::string_view v) {
         o.partition = checked_word("--slurm-partition", std::string(v));
       },
       [](const O& o) { return json(o.partition.value_or("spec, else the cluster's default")); }},
      {"slurm-account", "NAME", "--backend slurm: sbatch --account",
       [](O& o, std::string_view v) {
         o.account = checked_word("--slurm-account", std::string(v));
       },
       [](const O& o) { return json(o.account.value_or("spec, else your default")); }},
      {"slurm-mem", "SIZE", "--backend slurm: sbatch --mem per task (e.g. 4G)",
       [](O& o, std::string_view v) { o.mem = checked_mem("--slurm-mem", std::string(v)); },
       [](const O& o) { return json(o.mem.value_or("spec, else the cluster's default")); }},
      {"slurm-extra", "OPTION",
       "--backend slurm: one more #SBATCH line, e.g. --qos=long (repeatable)",
       [](O& o, std::string_view v) {
         o.extra.push_back(normalize_sbatch_option("--slurm-extra", std::string(v)));
       },
       [](const O&) { return json(nullptr); }},
      {"slurm-max-running", "N", "--backend slurm: array tasks running at once (0: no limit)",
       [](O& o, std::string_view v) {
         o.max_running =
             checked_count("--slurm-max-running", std::string(v), 0, kMaxArraySizeLimit);
       },
       [](const O& o) { return o.max_running ? json(*o.max_running) : json("spec, else 0"); }}};
  return options;
}

SlurmSettings apply_overrides(SlurmSettings s, const SlurmOverrides& o) {
  if (o.partition) s.partition = *o.partition;
  if (o.account) s.account = *o.account;
  if (o.mem) s.mem = *o.mem;
  s.extra.insert(s.extra.end(), o.extra.begin(), o.extra.end());
  if (o.runs_per_task) s.runs_per_task = *o.runs_per_task;
  if (o.max_running) s.max_running = *o.max_running;
  return s;
}

json to_json(const SlurmSettings& s) {
  return {{"partition", s.partition.empty() ? json(nullptr) : json(s.partition)},
          {"account", s.account.empty() ? json(nullptr) : json(s.account)},
          {"mem", s.mem.empty() ? json(nullptr) : json(s.mem)},
          {"extra", s.extra},
          {"runs_per_task", s.runs_per_task},
          {"max_running", s.max_running},
          {"max_array_size", s.max_array_size},
          {"nodes", s.nodes == 0 ? json(nullptr) : json(s.nodes)}};
}

std::string slurm_time_limit(double timeout_seconds, int runs_per_task) {
  const double seconds =
      runs_per_task * (timeout_seconds + ChildProcess::kGraceSeconds) + kTaskOverheadSeconds;
  const auto minutes = static_cast<long>(std::ceil(seconds / 60.0));
  return std::to_string(minutes / (24 * 60)) + "-" + two_digits(minutes / 60 % 24) + ":" +
         two_digits(minutes % 60) + ":00";
}

std::string normalize_sbatch_option(const std::string& where, const std::string& line) {
  std::string s = line;
  if (s.rfind("#SBATCH", 0) == 0) s.erase(0, 7);
  s.erase(0, s.find_first_not_of(" \t"));
  if (s.find_first_of("\r\n") != std::string::npos) {
    throw ConfigError(where + ": one option per line, no newline: '" + line + "'");
  }
  if (s.rfind("--", 0) != 0) {
    if (s.empty() || s[0] == '-') {
      throw ConfigError(where + ": give sbatch's long option (--qos=long), got '" + line + "'");
    }
    s = "--" + s;
  }
  const std::string name = s.substr(2, s.find_first_of("= ") - 2);
  if (name.empty()) throw ConfigError(where + ": no option name in '" + line + "'");
  for (const char* owned : kOwnedSbatchOptions) {
    if (name == owned) {
      throw ConfigError(where + ": --" + name +
                        " is set by psgd (time from timeout_seconds; partition, account and mem "
                        "from their own keys and options), not an extra line");
    }
  }
  return s;
}

}  // namespace psgd
