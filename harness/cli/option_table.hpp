// harness/cli/option_table.hpp — the one option-table mechanism every command uses (`run`,
// `sweep`, `topo`): a table of long options drives the parser, the `--help` lines (with
// defaults) and, where a command records its configuration, the JSON of it.
//
// Command lines take `--name=value`, `--name value` and bare flags; anything not starting with
// `--` is a positional argument, which the command accepts through a callback or rejects.
// Unknown options are errors that list the valid names. A value's own parser (Option::set) throws
// ConfigError with a one-line message naming the option; nothing here converts numbers.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/errors.hpp"
#include "common/name_table.hpp"
#include "harness/cli/completion.hpp"

namespace psgd {

// One long option of a command whose settings are a `Config` value.
template <class Config>
struct Option {
  std::string_view name;     // long name without dashes
  std::string_view metavar;  // empty for a flag
  std::string_view help;
  // Parses `value` (empty for a flag) into config; throws ConfigError naming the option.
  std::function<void(Config&, std::string_view value)> set;
  // The current value as JSON: the `[default]` of --help and the command's JSON record. Null (or
  // an empty string) shows no default.
  std::function<nlohmann::json(const Config&)> get;

  [[nodiscard]] bool is_flag() const noexcept { return metavar.empty(); }
};

// Builders for the usual shapes of option, so that a table spends one entry on each. Each stores
// into one member of Config and records that member's value (null for an empty optional).

template <class T>
nlohmann::json option_json(const T& value) {
  return nlohmann::json(value);
}
template <class T>
nlohmann::json option_json(const std::optional<T>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}
struct OptionJson {
  template <class T>
  nlohmann::json operator()(const T& value) const {
    return option_json(value);
  }
};

// Text kept as given: checked where its meaning is known (a model spec, a path).
template <class Config>
Option<Config> text_option(std::string_view name, std::string_view metavar, std::string_view help,
                           std::string Config::*member) {
  return {name, metavar, help, [member](Config& c, std::string_view v) { c.*member = v; },
          [member](const Config& c) { return nlohmann::json(c.*member); }};
}

// A flag: present means true.
template <class Config>
Option<Config> flag_option(std::string_view name, std::string_view help, bool Config::*member) {
  return {name, "", help, [member](Config& c, std::string_view) { c.*member = true; },
          [member](const Config& c) { return nlohmann::json(c.*member); }};
}

// A value `parse(name, text)` converts (it throws ConfigError naming the option), stored with a
// static_cast (parse range-checks first) and recorded as `show(value)`, by default its JSON.
template <class Config, class T, class Parse, class Show = OptionJson>
Option<Config> parsed_option(std::string_view name, std::string_view metavar, std::string_view help,
                             T Config::*member, Parse parse, Show show = {}) {
  return {name, metavar, help,
          [name, member, parse](Config& c, std::string_view v) {
            c.*member = static_cast<T>(parse(name, v));
          },
          [member, show](const Config& c) { return nlohmann::json(show(c.*member)); }};
}

// An enum through its name table: parsed and recorded by name.
template <class Config, class E, std::size_t N>
Option<Config> named_option(std::string_view name, std::string_view metavar, std::string_view help,
                            E Config::*member, const NameTable<E, N>& table) {
  const NameTable<E, N>* names = &table;  // the tables are constants of static duration
  return {name, metavar, help,
          [name, member, names](Config& c, std::string_view v) {
            c.*member = parse_name(*names, name, v);
          },
          [member, names](const Config& c) {
            return nlohmann::json(std::string(name_of(*names, c.*member)));
          }};
}

// The key of option `name` in JSON (a recorded configuration, a --config file): the name with
// its hyphens as underscores (`batch-order` -> `batch_order`), so that every key of a document is
// snake_case. A --config file may spell a key either way.
inline std::string json_key(std::string_view name) {
  std::string key(name);
  std::replace(key.begin(), key.end(), '-', '_');
  return key;
}

// A command's options, in the order --help lists them.
template <class Config>
class OptionTable {
 public:
  OptionTable(std::string command, std::vector<Option<Config>> options)
      : command_(std::move(command)), options_(std::move(options)) {}

  [[nodiscard]] const std::vector<Option<Config>>& options() const noexcept { return options_; }

  // The option called `name`, or nullptr.
  [[nodiscard]] const Option<Config>* find(std::string_view name) const noexcept {
    for (const Option<Config>& o : options_) {
      if (o.name == name) return &o;
    }
    return nullptr;
  }

  // The option whose name or JSON key (json_key) is `key`, or nullptr.
  [[nodiscard]] const Option<Config>* find_key(std::string_view key) const {
    if (const Option<Config>* o = find(key)) return o;
    for (const Option<Config>& o : options_) {
      if (json_key(o.name) == key) return &o;
    }
    return nullptr;
  }

  // The option called `name`; throws ConfigError listing every valid name otherwise.
  [[nodiscard]] const Option<Config>& at(std::string_view name) const {
    if (const Option<Config>* o = find(name)) return *o;
    throw ConfigError("unknown option '--" + std::string(name) + "'; valid: " + valid_names());
  }

  // Every option as the completion scripts offer it (harness/cli/completion.hpp): the values
  // after an option are the fixed names its help lists ("a | b | c").
  [[nodiscard]] std::vector<CompletionOption> completion_options() const {
    std::vector<CompletionOption> out;
    for (const Option<Config>& o : options_) {
      out.push_back({std::string(o.name), std::string(o.metavar), std::string(o.help),
                     o.is_flag() ? std::vector<std::string>{} : enumerated_values(o.help)});
    }
    return out;
  }

  // "--a, --b, ..., --help": every name the command accepts.
  [[nodiscard]] std::string valid_names() const {
    std::string s;
    for (const Option<Config>& o : options_) s += "--" + std::string(o.name) + ", ";
    return s + "--help";
  }

  // Applies args in order. A positional argument goes to `positional`; without one it is an
  // error. A bare `--help` is skipped: it is the command's to handle, before parsing or after.
  // An option given twice is an error, as an unknown one is: the last value silently won, so
  // `--threads 8 ... --threads 1` (a line edited in a hurry) ran one thread with no word.
  void parse(std::span<const std::string_view> args, Config& config,
             const std::function<void(std::string_view)>& positional = {}) const {
    std::vector<const Option<Config>*> given;
    for (std::size_t i = 0; i < args.size(); ++i) {
      std::string_view arg = args[i];
      if (arg.substr(0, 2) != "--" || arg.size() == 2) {
        if (!positional) {
          throw ConfigError("unexpected argument '" + std::string(arg) +
                            "'; options look like --name=value");
        }
        positional(arg);
        continue;
      }
      arg.remove_prefix(2);
      std::string_view value;
      const std::size_t eq = arg.find('=');
      const bool inline_value = eq != std::string_view::npos;
      if (inline_value) {
        value = arg.substr(eq + 1);
        arg = arg.substr(0, eq);
      }
      if (arg == "help") {
        // The command shows its help before parsing (wants_help) or once the rest has parsed.
        if (inline_value) throw ConfigError("--help takes no value");
        continue;
      }
      const Option<Config>& o = at(arg);
      if (std::find(given.begin(), given.end(), &o) != given.end()) {
        throw ConfigError("--" + std::string(arg) + " is given twice; give each option once");
      }
      given.push_back(&o);
      if (o.is_flag()) {
        if (inline_value) throw ConfigError("--" + std::string(arg) + " takes no value");
      } else if (!inline_value) {
        if (i + 1 >= args.size()) {
          throw ConfigError("--" + std::string(arg) + " needs a value (" + std::string(o.metavar) +
                            ")");
        }
        value = args[++i];
      }
      o.set(config, value);
    }
  }

  // Applies a JSON object of the same names (a run's --config file), each key the option's name
  // or its json_key: a flag takes true or false, any other option a string or a number (its
  // command-line text). `source` names the object in errors.
  void apply_json(const nlohmann::json& object, Config& config, const std::string& source) const {
    if (!object.is_object()) throw ConfigError(source + " must hold a JSON object");
    for (const auto& [key, value] : object.items()) {
      const Option<Config>* o = find_key(key);
      if (o == nullptr) {
        throw ConfigError(source + ": unknown option '--" + key + "'; valid: " + valid_names());
      }
      if (o->is_flag()) {
        if (!value.is_boolean())
          throw ConfigError(source + ": '" + key + "' must be true or false");
        if (value.template get<bool>()) o->set(config, "");
      } else {
        o->set(config, value.is_string() ? value.template get<std::string>() : value.dump());
      }
    }
  }

  // One line per option: "  --name=METAVAR   help [default]", defaults read from `defaults`.
  // A help text of several lines (an option whose values each need one) has the default after
  // its first line and its other lines indented to the help column.
  [[nodiscard]] std::string help_lines(const Config& defaults) const {
    std::string s;
    for (const Option<Config>& o : options_) {
      // Appended piecewise here and below: `"=" + std::string(..)` trips GCC 12's false
      // -Wrestrict at -O3 where this is inlined.
      std::string left = "  --";
      left.append(o.name);
      if (!o.is_flag()) left.append("=").append(o.metavar);
      s += left + std::string(left.size() < kHelpColumn ? kHelpColumn - left.size() : 1, ' ');
      const std::size_t first_end = o.help.find('\n');
      s += std::string(o.help.substr(0, first_end));
      const nlohmann::json d = o.get ? o.get(defaults) : nlohmann::json(nullptr);
      if (!o.is_flag() && !d.is_null() &&
          !(d.is_string() && d.template get<std::string>().empty())) {
        s.append(" [").append(d.is_string() ? d.template get<std::string>() : d.dump()).append("]");
      }
      s += "\n";
      for (std::size_t begin = first_end; begin != std::string_view::npos;) {
        const std::size_t end = o.help.find('\n', ++begin);
        s += std::string(kHelpColumn, ' ') + std::string(o.help.substr(begin, end - begin)) + "\n";
        begin = end;
      }
    }
    return s;
  }

  // Every option's current value, keyed by json_key (options without `get` are left out).
  [[nodiscard]] nlohmann::json to_json(const Config& config) const {
    nlohmann::json j = nlohmann::json::object();
    for (const Option<Config>& o : options_) {
      if (o.get) j[json_key(o.name)] = o.get(config);
    }
    return j;
  }

  [[nodiscard]] const std::string& command() const noexcept { return command_; }

  // Help text starts at this column (two spaces, the option, padding).
  static constexpr std::size_t kHelpColumn = 26;

 private:
  std::string command_;
  std::vector<Option<Config>> options_;
};

// True when args ask for help (`--help` or `-h` anywhere): commands print it and exit 0 before
// parsing anything else, so a bad option next to --help still shows the help.
inline bool wants_help(std::span<const std::string_view> args) noexcept {
  for (const std::string_view a : args) {
    if (a == "--help" || a == "-h") return true;
  }
  return false;
}

}  // namespace psgd
