// harness/test/readme_recipes_end_to_end_test.cpp — README.md's five recipes, run as written.
//
// The README promises that its recipes work exactly as printed; this test holds it to that. Each
// recipe is the fenced block right after a `<!-- recipe: NAME -->` line. The rule, which the
// README states above the recipes: they run from the repository root, in order, with psgd on
// PATH. Here the "repository root" is a scratch folder holding links to the checkout's
// experiments/, plots/ and results/examples/ (so nothing is written into the checkout), and the
// psgd on PATH is the binary these tests were built with (the dev build, not the release build
// the README's `export PATH` line names: the recipes call `psgd`, never a path to it). Each block
// is run by `bash -e`, so a failing line fails its recipe, and what it wrote is checked: a run
// document, a sweep's four runs, a figure, the compare verdicts and exit code, the pandas rows.
// The recipes are written to take seconds (0.1 epoch, a synthetic problem for the compare, a
// figure redrawn from committed runs): 45 s in all, measured with load average 10-12 from other
// builds on a 2-core AMD EPYC on 2026-12-06 (4.5 + 21.7 + 11.3 + 5.1 + 3.1 s); the CPU time is
// a fraction of that (the grid's four runs took 3.7 s of it).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kMarker = "<!-- recipe: ";

// name -> the shell text of its block, in README order.
std::vector<std::pair<std::string, std::string>> readme_recipes(const std::string& readme) {
  std::vector<std::pair<std::string, std::string>> recipes;
  for (std::size_t at = readme.find(kMarker); at != std::string::npos;
       at = readme.find(kMarker, at + 1)) {
    const std::size_t name_from = at + std::string(kMarker).size();
    const std::size_t name_end = readme.find(" -->\n", name_from);
    const std::size_t fence = name_end == std::string::npos ? name_end : name_end + 5;
    // The block must follow the marker line at once, so a marker cannot drift off its recipe.
    if (fence == std::string::npos || readme.compare(fence, 6, "```sh\n") != 0) {
      ADD_FAILURE() << "a recipe marker not followed by a ```sh block at offset " << at;
      continue;
    }
    const std::size_t body = fence + 6;
    const std::size_t end = readme.find("\n```\n", body);
    if (end == std::string::npos) {
      ADD_FAILURE() << "an unterminated recipe block at offset " << at;
      continue;
    }
    recipes.emplace_back(readme.substr(name_from, name_end - name_from),
                         readme.substr(body, end + 1 - body));
  }
  return recipes;
}

class ReadmeRecipesEndToEnd : public ScratchDirTest {
 protected:
  // Runs one recipe in the scratch "repository root" with the test binary's folder first on PATH
  // (and no OLD from the caller's environment, so recipe (d) compares this build with itself).
  ProcessResult run_recipe(const std::string& name, const std::string& text) {
    const fs::path script = write_text(scratch_ / (name + ".sh"), text);
    const std::string bin = fs::path(PSGD_BINARY).parent_path().string();
    return run_shell("(cd '" + scratch_.string() + "' && env -u OLD PATH='" + bin +
                     "':\"$PATH\" PYTHONDONTWRITEBYTECODE=1 MPLBACKEND=Agg bash -e '" +
                     script.string() + "')");
  }
};

bool python_has_pandas_and_matplotlib() {
  return run_shell("/usr/bin/python3 -c 'import pandas, matplotlib'").exit_code == 0;
}

TEST_F(ReadmeRecipesEndToEnd, FiveRecipesRunAsWrittenAndWriteWhatTheySay) {
  const std::string readme = slurp(PSGD_SOURCE_DIR "/README.md");
  ASSERT_FALSE(readme.empty()) << "README.md not found under " << PSGD_SOURCE_DIR;
  const auto recipes = readme_recipes(readme);
  std::vector<std::string> names;
  for (const auto& r : recipes) names.push_back(r.first);
  ASSERT_THAT(names, ::testing::ElementsAre("run-one", "sweep-grid", "study-figure",
                                            "compare-builds", "pandas"));

  const fs::path source(PSGD_SOURCE_DIR);
  for (const char* dir : {"experiments", "plots"})
    fs::create_directory_symlink(source / dir, scratch_ / dir);
  fs::create_directories(scratch_ / "results");
  fs::create_directory_symlink(source / "results" / "examples", scratch_ / "results" / "examples");
  const bool python = python_has_pandas_and_matplotlib();

  std::map<std::string, ProcessResult> ran;
  for (const auto& [name, text] : recipes) {
    if (!python && (name == "study-figure" || name == "pandas")) continue;
    ran[name] = run_recipe(name, text);
  }

  // (a) one run: its document, with the configuration the recipe asked for.
  const ProcessResult& one = ran["run-one"];
  ASSERT_EQ(one.exit_code, 0) << one.err;
  EXPECT_THAT(one.err, HasSubstr("psgd run: leashed"));  // the header goes to stderr
  const json doc = json::parse(slurp(scratch_ / "results" / "leashed.json"), nullptr, false);
  ASSERT_TRUE(doc.is_object()) << "results/leashed.json is not a JSON object";
  EXPECT_THAT(std::vector<std::string>({"converged", "not_converged"}),
              ::testing::Contains(doc.value("status", "")));
  ASSERT_TRUE(doc.contains("config") && doc["config"].is_object());
  EXPECT_EQ(doc["config"].value("algo", ""), "leashed");
  EXPECT_EQ(doc["config"].value("threads", 0), 2);

  // (b) the grid: 2 algorithms x 2 thread counts, each a complete document, and the index.
  const ProcessResult& grid = ran["sweep-grid"];
  ASSERT_EQ(grid.exit_code, 0) << grid.err;
  const fs::path sweep = scratch_ / "results" / "my-grid";
  EXPECT_TRUE(fs::is_regular_file(sweep / "sweep.json"));
  EXPECT_EQ(count_lines(slurp(sweep / "index.csv")), 1 + 4) << "index.csv: a header and 4 runs";
  int documents = 0;
  for (const auto& entry : fs::directory_iterator(sweep)) {
    if (entry.path().extension() != ".json" || entry.path().filename() == "sweep.json") continue;
    const json run = json::parse(slurp(entry.path()), nullptr, false);
    ASSERT_TRUE(run.is_object()) << entry.path();
    EXPECT_TRUE(run.contains("sweep") && run["sweep"].is_object() &&
                run["sweep"].contains("run_id") && run["sweep"]["run_id"].is_string())
        << entry.path() << " is no complete sweep result";
    ++documents;
  }
  EXPECT_EQ(documents, 4);

  // (d) two builds compared: the exit code is one the README documents (0: nothing worse, 1:
  // something worse: timings of one binary may differ under load), and the deterministic
  // measure, the final train loss of a one-thread run, reads "same" at both points.
  const ProcessResult& compare = ran["compare-builds"];
  EXPECT_TRUE(compare.exit_code == 0 || compare.exit_code == 1)
      << "exit " << compare.exit_code << "\n"
      << compare.err;
  EXPECT_THAT(compare.out, ::testing::ContainsRegex("algo-seq/final_train_loss .* same\n"));
  EXPECT_THAT(compare.out, ::testing::ContainsRegex("algo-leashed/final_train_loss .* same\n"));
  EXPECT_THAT(compare.out, HasSubstr(" compared: "));

  if (!python) {
    GTEST_SKIP() << "/usr/bin/python3 lacks pandas or matplotlib (make plots-deps installs them): "
                    "recipes (c) and (e) not run";
  }
  // (c) the study figure, redrawn from the committed runs: a PNG and its caption.
  const ProcessResult& figure = ran["study-figure"];
  ASSERT_EQ(figure.exit_code, 0) << figure.err;
  EXPECT_EQ(slurp(scratch_ / "figures" / "threads.png").substr(0, 8), "\x89PNG\r\n\x1a\n");
  EXPECT_FALSE(slurp(scratch_ / "figures" / "threads.caption.md").empty());

  // (e) pandas: one row per run of (b)'s sweep.
  const ProcessResult& pandas = ran["pandas"];
  ASSERT_EQ(pandas.exit_code, 0) << pandas.err;
  EXPECT_THAT(pandas.out, HasSubstr("\n4 runs\n"));
  EXPECT_THAT(pandas.out, HasSubstr("leashed"));
}

}  // namespace
}  // namespace psgd::test
