// harness/run/config_file.cpp — `psgd run --config FILE`: an options file or an earlier run's
// document read into a RunConfig, and the command line parsed over it
// (harness/run/config_file.hpp).
#include "harness/run/config_file.hpp"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "common/read_file.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// A document `psgd run` wrote (any schema version): it has a schema_version and a config.
bool is_run_document(const json& doc) {
  return doc.is_object() && doc.contains("schema_version") && doc.contains("config");
}

// A run document's config block as --config options: less the output paths (a re-run must not
// write over the document it reads, nor over its parameters), what made the run something other
// than a training run (--dry-run and the topologies only a dry run takes, which no option can
// switch off again, and --test-fault, which a crashed run's document records), the batch order
// when the method chose it (so a re-run with another --algo gets that method's default) and,
// from documents before schema version 3, the nulls (an unset option: its default) and the
// empty --target-accuracy (none).
json config_of_run_document(const json& doc, const std::string& path) {
  const json& block = doc.at("config");
  if (!block.is_object()) {
    throw ConfigError("--config: '" + path +
                      "' is a run document without a configuration (its run failed before its "
                      "options were read)");
  }
  const auto algorithm = doc.find("algorithm");
  const bool method_chose_order = algorithm != doc.end() && algorithm->is_object() &&
                                  algorithm->value("batch_order_source", "") == "method default";
  json options = json::object();
  for (const auto& [key, value] : block.items()) {
    const std::string k = json_key(key);
    if (k == "out" || k == "save_params" || k == "dry_run" || k == "topology_synthetic" ||
        k == "topology_xml" || k == "test_fault" || value.is_null()) {
      continue;
    }
    if (k == "batch_order" && method_chose_order) continue;
    if (k == "target_accuracy" && value == "") continue;
    options[key] = value;
  }
  return options;
}

}  // namespace

void apply_config_file(RunConfig& c, const std::string& path, const AlgorithmRegistry& registry) {
  const std::string text = read_text_file(path, "--config");
  // The JSON parser stops at a NUL as at the end of the text, so whatever followed one was
  // accepted unread.
  if (const std::size_t nul = text.find('\0'); nul != std::string::npos) {
    throw ConfigError("--config: '" + path + "' holds a NUL byte at offset " + std::to_string(nul) +
                      ": not a JSON text file");
  }
  json doc;
  try {
    // Comments are allowed: `psgd run --print-config` writes the help text as // lines.
    doc = json::parse(text, nullptr, true, /*ignore_comments=*/true);
  } catch (const json::exception& e) {
    throw ConfigError("--config: '" + path + "' is not valid JSON: " + e.what());
  }
  if (is_run_document(doc)) doc = config_of_run_document(doc, path);
  // One level only: a file naming itself (or a cycle of files) recursed until the stack overflowed
  // (SIGSEGV, found by harness/fuzz/config_fuzz.cpp).
  if (doc.is_object() && doc.contains("config")) {
    throw ConfigError("--config: '" + path +
                      "': a config file cannot name another one (\"config\"); give both on the "
                      "command line");
  }
  make_run_option_table(registry).apply_json(doc, c, "--config: '" + path + "'");
}

namespace {

// The budget options: one given on the command line replaces the --config file's budget.
bool sets_budget(const RunConfig& c) {
  return c.epochs.has_value() || c.gradients.has_value() || c.updates.has_value();
}

// Splits args into the --config options (each with its value) and the rest, keeping each
// option's value with it (a value is never taken for an option of its own).
void split_config_args(const OptionTable<RunConfig>& table, std::span<const std::string_view> args,
                       std::vector<std::string_view>& config_args,
                       std::vector<std::string_view>& rest) {
  for (std::size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    const bool option = arg.size() > 2 && arg.substr(0, 2) == "--";
    const std::string_view name = option ? arg.substr(2, arg.find('=') - 2) : std::string_view{};
    const OptionSpec* o = option ? table.find(name) : nullptr;
    const bool takes_next = o != nullptr && !o->is_flag() && arg.find('=') == arg.npos;
    std::vector<std::string_view>& into = name == "config" ? config_args : rest;
    into.push_back(arg);
    if (takes_next && i + 1 < args.size()) into.push_back(args[++i]);
  }
}

}  // namespace

void parse_with_config_files(const OptionTable<RunConfig>& table,
                             std::span<const std::string_view> args, RunConfig& c) {
  std::vector<std::string_view> config_args, rest;
  split_config_args(table, args, config_args, rest);
  table.parse(config_args, c);
  RunConfig line;  // the command line alone: does it set a budget?
  table.parse(rest, line);
  if (sets_budget(line)) {
    c.epochs.reset();
    c.gradients.reset();
    c.updates.reset();
  }
  table.parse(rest, c);
}

}  // namespace psgd
