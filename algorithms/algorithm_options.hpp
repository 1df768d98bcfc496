// algorithms/algorithm_options.hpp — options an algorithm declares for itself.
//
// An algorithm-specific option (`--persistence`, `--backoff`, `--lock`, ...) is declared once,
// beside the algorithm that reads it: its name, help, default and a parser from command-line
// text to a typed value. The registry (algorithms/registry.hpp) lists, per algorithm, which of
// them it accepts; the run command turns every declared option into a `--name` of its option
// table, and one generic check rejects an option set away from its default for an algorithm
// that does not accept it. Values are typed (std::any holding the declared type), so a factory
// reads an enum or an integer, never text.
#pragma once

#include <any>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>

namespace psgd {

class AlgorithmOption {
 public:
  // A typed option: parse turns text into T (throwing ConfigError naming the option), to_json
  // turns T into the value recorded in the JSON `config` block and shown as the default.
  // A flag has an empty metavar; its parser receives "".
  template <class T>
  static AlgorithmOption make(std::string_view name, std::string_view metavar,
                              std::string_view help, T default_value,
                              std::function<T(std::string_view)> parse,
                              std::function<nlohmann::json(const T&)> to_json) {
    AlgorithmOption o;
    o.name_ = name;
    o.metavar_ = metavar;
    o.help_ = help;
    o.default_ = std::move(default_value);
    o.parse_ = [parse = std::move(parse)](std::string_view text) { return std::any(parse(text)); };
    o.to_json_ = [to_json = std::move(to_json)](const std::any& v) {
      return to_json(std::any_cast<const T&>(v));
    };
    return o;
  }

  [[nodiscard]] std::string_view name() const noexcept { return name_; }
  [[nodiscard]] std::string_view metavar() const noexcept { return metavar_; }
  [[nodiscard]] std::string_view help() const noexcept { return help_; }
  [[nodiscard]] bool is_flag() const noexcept { return metavar_.empty(); }
  [[nodiscard]] const std::any& default_value() const noexcept { return default_; }

  [[nodiscard]] std::any parse(std::string_view text) const { return parse_(text); }
  [[nodiscard]] nlohmann::json to_json(const std::any& value) const { return to_json_(value); }

 private:
  AlgorithmOption() = default;
  std::string_view name_;
  std::string_view metavar_;
  std::string_view help_;
  std::any default_;
  std::function<std::any(std::string_view)> parse_;
  std::function<nlohmann::json(const std::any&)> to_json_;
};

// The algorithm options of one run: the values set on the command line, by option name; every
// other option has its declared default.
class AlgorithmSettings {
 public:
  // Parses text with o's parser and stores the value (ConfigError on a bad value).
  void set(const AlgorithmOption& o, std::string_view text) {
    values_.insert_or_assign(std::string(o.name()), o.parse(text));
  }

  // The value of o: set, or its default. T must be o's declared type.
  template <class T>
  [[nodiscard]] T get(const AlgorithmOption& o) const {
    return std::any_cast<T>(value(o));
  }

  [[nodiscard]] const std::any& value(const AlgorithmOption& o) const {
    const auto it = values_.find(o.name());
    return it == values_.end() ? o.default_value() : it->second;
  }
  [[nodiscard]] nlohmann::json json(const AlgorithmOption& o) const { return o.to_json(value(o)); }

  // True when o was given a value that differs from its default (in its JSON form, so "inf" and
  // an equal number, or a flag given as false, count as the default).
  [[nodiscard]] bool differs_from_default(const AlgorithmOption& o) const {
    return json(o) != o.to_json(o.default_value());
  }

 private:
  std::map<std::string, std::any, std::less<>> values_;
};

}  // namespace psgd
