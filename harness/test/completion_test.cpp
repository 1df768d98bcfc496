// `psgd completion`: the values read from option help texts, and the scripts themselves: the bash
// one names every option of `psgd run --help` and every algorithm, parses, and completes when
// bash runs it; the zsh one lists them too.
#include "harness/cli/completion.hpp"

#include <gtest/gtest.h>

#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "algorithms/registry.hpp"
#include "harness/test/psgd_process.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using Values = std::vector<std::string>;

TEST(Completion, ValuesAreTheFixedNamesAHelpLists) {
  EXPECT_EQ(enumerated_values("worker pinning: compact (fill a NUMA node first: UMA) | scatter "
                              "(round-robin over nodes: NUMA) | explicit:CPULIST | none (OS "
                              "decides)"),
            (Values{"compact", "scatter", "none"}));
  EXPECT_EQ(enumerated_values("local | mpi: the threads of this process"),
            (Values{"local", "mpi"}));
  EXPECT_EQ(enumerated_values("testing only: fail on purpose after loading the data: none | abort "
                              "| hang | exit:N | worker-throw (the last worker's set-up throws)"),
            (Values{"none", "abort", "hang", "worker-throw"}));
  EXPECT_EQ(enumerated_values("initialisation: he | glorot | normal:SIGMA (the reference)"),
            (Values{"he", "glorot"}));
  EXPECT_EQ(enumerated_values("linear | mlp:W1xW2x... | cnn | lenet"),
            (Values{"linear", "cnn", "lenet"}));
  EXPECT_TRUE(enumerated_values("mini-batch size b").empty());
  // A help that lists the values on its first line and explains each on one of its own.
  EXPECT_EQ(enumerated_values("where batches come from: default | worker | shard\n"
                              "default: the method's\nworker: its own permutation"),
            (Values{"default", "worker", "shard"}));
}

// The words of `text`, split at white space.
std::set<std::string> tokens(const std::string& text) {
  std::set<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) out.insert(w);
  return out;
}

// `psgd run --help`'s option names, "--algo" ..., from its option lines.
std::set<std::string> run_help_options() {
  const test::ProcessResult help = test::run_psgd("run --help");
  std::set<std::string> names;
  const std::regex option(R"(\n  (--[a-z][a-z0-9-]*))");
  for (std::sregex_iterator it(help.out.begin(), help.out.end(), option), end; it != end; ++it) {
    names.insert((*it)[1].str());
  }
  return names;
}

TEST(CompletionEndToEnd, TheBashScriptNamesEveryRunOptionAndAlgorithmAndParses) {
  const test::ProcessResult bash = test::run_psgd("completion bash");
  ASSERT_EQ(bash.exit_code, 0) << bash.err;
  const fs::path script = test::scratch_dir("completion") / "psgd.bash";
  test::write_text(script, bash.out);
  auto words = [&](const std::string& function) {
    return tokens(
        test::run_shell("bash -c 'source " + script.string() + " && " + function + "'").out);
  };
  const std::set<std::string> offered = words("_psgd_options run");
  const std::set<std::string> options = run_help_options();
  ASSERT_GT(options.size(), 40U);  // the parse of the help found its options
  for (const std::string& o : options) {
    EXPECT_TRUE(offered.contains(o)) << o;
  }
  const std::set<std::string> algos = words("_psgd_values run --algo");
  for (const AlgorithmEntry& e : builtin_algorithms().entries()) {
    EXPECT_TRUE(algos.contains(std::string(e.name))) << e.name;
  }
  EXPECT_EQ(test::run_shell("bash -n " + script.string()).exit_code, 0);
}

// What bash's completion offers for the words (the last one being completed).
std::string complete(const fs::path& script, const std::string& words) {
  return test::run_shell("bash -c 'source " + script.string() + " && COMP_WORDS=(" + words +
                         ") && COMP_CWORD=$((${#COMP_WORDS[@]} - 1)) && _psgd && "
                         "printf \"%s\\n\" \"${COMPREPLY[@]}\"'")
      .out;
}

TEST(CompletionEndToEnd, BashCompletesCommandsOptionsAndValues) {
  const fs::path script = test::scratch_dir("completion") / "complete.bash";
  test::write_text(script, test::run_psgd("completion bash").out);
  EXPECT_EQ(complete(script, "psgd co"), "compare\ncompletion\n");
  EXPECT_EQ(complete(script, "psgd run --alg"), "--algo\n");
  // --algo=le: bash splits the word at '=' (COMP_WORDBREAKS), and without that split.
  EXPECT_EQ(complete(script, "psgd run --algo = le"), "leashed\n");
  EXPECT_EQ(complete(script, "psgd run --algo=le"), "--algo=leashed\n");  // '=' no word break
  EXPECT_EQ(complete(script, "psgd run --placement sc"), "scatter\n");
  EXPECT_EQ(complete(script, "psgd completion z"), "zsh\n");
  EXPECT_NE(complete(script, "psgd sweep --j").find("--jobs"), std::string::npos);
}

TEST(CompletionEndToEnd, TheZshScriptNamesThemTooAndABadShellIsOneLine) {
  const test::ProcessResult zsh = test::run_psgd("completion zsh");
  ASSERT_EQ(zsh.exit_code, 0) << zsh.err;
  for (const std::string& o : run_help_options()) {
    EXPECT_NE(zsh.out.find("'" + o), std::string::npos) << o;
  }
  // --algo offers exactly the registered names, and --batch-order its four (its help explains
  // them on lines of their own).
  const auto values_after = [&](const std::string& option) {
    const std::size_t at = zsh.out.find("'--" + option + "=[");
    if (at == std::string::npos) return std::string("(no spec for --" + option + ")");
    const std::size_t end = zsh.out.find('\n', at);
    const std::size_t open = zsh.out.rfind(":(", end);
    const std::size_t close = zsh.out.rfind(")'", end);
    if (open == std::string::npos || close == std::string::npos || open < at || close < open) {
      return std::string("(no values: " + zsh.out.substr(at, end - at) + ")");
    }
    return zsh.out.substr(open + 2, close - open - 2);
  };
  std::string algos;
  for (const AlgorithmEntry& e : builtin_algorithms().entries()) {
    algos += (algos.empty() ? "" : " ") + std::string(e.name);
  }
  EXPECT_EQ(values_after("algo"), algos);
  EXPECT_EQ(values_after("batch-order"), "default worker shared shard");
  // Every option's spec is one line of the script: a help of several lines is joined.
  std::istringstream lines(zsh.out);
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("        '--")) {
      EXPECT_TRUE(line.ends_with("' \\") || line.ends_with("'")) << line;
    }
  }
  if (fs::exists("/usr/bin/zsh")) {
    const fs::path script = test::scratch_dir("completion") / "_psgd";
    test::write_text(script, zsh.out);
    EXPECT_EQ(test::run_shell("zsh -n " + script.string()).exit_code, 0);
  }
  const test::ProcessResult bad = test::run_psgd("completion fish");
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(test::one_line(bad.err)) << bad.err;
  EXPECT_NE(bad.err.find("valid: bash, zsh"), std::string::npos) << bad.err;
}

}  // namespace
}  // namespace psgd
