// harness/test/docs_consistency_test.cpp — README.md and docs/ against the code and the binary.
//
// The documentation is what a researcher reads to trust the numbers, and it drifted: a README of
// 1,753 lines, cross-references to sections that had moved, a run count of 3,240 where the binary
// plans 5,400, a spec reference missing four specs. These tests check what can be checked
// mechanically: the README's length, that every link between the pages lands on a page and a
// heading that exist, that the spec format documents every key the parser accepts, that every
// spec in experiments/ is listed with the run counts its expansion gives, that the README's
// algorithm table is `psgd list`, and that every path a --help names exists.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "harness/sweep/slurm/settings.hpp"
#include "harness/sweep/spec.hpp"
#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSource(PSGD_SOURCE_DIR);

// README.md and every docs/*.md.
std::vector<fs::path> pages() {
  std::vector<fs::path> all = {kSource / "README.md"};
  for (const auto& entry : fs::directory_iterator(kSource / "docs")) {
    if (entry.path().extension() == ".md") all.push_back(entry.path());
  }
  return all;
}

// The text outside fenced code blocks (a `# comment` in a shell block is no heading).
std::string prose(const std::string& page) {
  std::istringstream in(page);
  std::string out;
  bool fenced = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("```", 0) == 0) {
      fenced = !fenced;
      continue;
    }
    if (!fenced) out += line + "\n";
  }
  return out;
}

// GitHub's anchor of a heading: lower case, spaces to '-', and every other character but
// letters, digits, '-' and '_' dropped (bytes of non-ASCII letters are kept, as GitHub keeps
// the letters).
std::string anchor_of(const std::string& heading) {
  std::string a;
  for (const char c : heading) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || std::isalnum(u) != 0 || c == '-' || c == '_') {
      a += static_cast<char>(std::tolower(u));
    } else if (c == ' ') {
      a += '-';
    }
  }
  return a;
}

std::set<std::string> anchors(const fs::path& page) {
  std::set<std::string> all;
  std::istringstream in(prose(slurp(page)));
  for (std::string line; std::getline(in, line);) {
    const std::size_t hashes = line.find_first_not_of('#');
    if (hashes == 0 || hashes == std::string::npos || line[hashes] != ' ') continue;
    all.insert(anchor_of(line.substr(hashes + 1)));
  }
  return all;
}

TEST(DocsConsistency, ReadmeIsAtMost300Lines) {
  const std::string readme = slurp(kSource / "README.md");
  ASSERT_FALSE(readme.empty());
  EXPECT_LE(count_lines(readme), 300) << "README.md: the rest belongs in docs/";
}

TEST(DocsConsistency, EveryLinkBetweenPagesLandsOnAPageAndAHeading) {
  const std::regex link(R"(\]\(([^)\s]+)\))");
  int checked = 0;
  for (const fs::path& page : pages()) {
    const std::string text = prose(slurp(page));
    for (auto it = std::sregex_iterator(text.begin(), text.end(), link);
         it != std::sregex_iterator(); ++it) {
      const std::string target = (*it)[1];
      if (target.rfind("http", 0) == 0 || target.rfind("mailto:", 0) == 0) continue;
      const std::size_t hash = target.find('#');
      const std::string file = target.substr(0, hash);
      const fs::path to = file.empty() ? page : page.parent_path() / file;
      ++checked;
      ASSERT_TRUE(fs::exists(to)) << page.filename() << " links to " << target
                                  << ", which does not exist";
      if (hash == std::string::npos || to.extension() != ".md") continue;
      EXPECT_EQ(anchors(to).count(target.substr(hash + 1)), 1u)
          << page.filename() << " links to " << target << ": no such heading in " << to.filename();
    }
  }
  EXPECT_GT(checked, 50) << "fewer links than the pages have: is the pattern broken?";
}

TEST(DocsConsistency, SpecFormatDocumentsEveryKeyTheParserAccepts) {
  const std::string page = slurp(kSource / "docs" / "sweeps.md");
  const std::size_t from = page.find("## Spec format");
  ASSERT_NE(from, std::string::npos) << "docs/sweeps.md lost its 'Spec format' section";
  const std::string section = page.substr(from, page.find("\n## ", from + 1) - from);
  std::vector<std::string> keys = spec_keys();
  keys.insert(keys.end(), scale_keys().begin(), scale_keys().end());
  keys.insert(keys.end(), slurm_block_keys().begin(), slurm_block_keys().end());
  keys.insert(keys.end(), sweep_owned_options().begin(), sweep_owned_options().end());
  ASSERT_GT(keys.size(), 20u);
  for (const std::string& key : keys) {
    EXPECT_THAT(section, ::testing::HasSubstr("`" + key + "`"))
        << "docs/sweeps.md, Spec format, does not mention the spec key or option " << key;
  }
}

// "1,234" for 1234: how the pages write counts in prose.
std::string with_commas(std::size_t n) {
  std::string digits = std::to_string(n);
  for (int at = static_cast<int>(digits.size()) - 3; at > 0; at -= 3) digits.insert(at, ",");
  return digits;
}

// Every spec is in studies.md's table with the run counts of its quick and full scales, and in
// sweeps.md's one-command-per-spec list with its full count; the counts are those the sweep's
// own expansion plans (what `psgd sweep --dry-run` prints).
TEST(DocsConsistency, EverySpecIsListedWithTheRunCountsItPlans) {
  const std::string studies = slurp(kSource / "docs" / "studies.md");
  const std::string sweeps = slurp(kSource / "docs" / "sweeps.md");
  std::size_t specs = 0;
  std::size_t full_total = 0;
  for (const auto& entry : fs::directory_iterator(kSource / "experiments")) {
    if (entry.path().extension() != ".json") continue;
    ++specs;
    const std::string name = entry.path().stem().string();
    const std::size_t quick = expand(load_sweep_spec(entry.path().string(), "quick")).size();
    const std::size_t full = expand(load_sweep_spec(entry.path().string(), "full")).size();
    full_total += full;
    const std::regex row("\\n\\| `" + name + "\\.json` \\|[^\\n]*: " + std::to_string(quick) +
                         " runs \\|[^\\n]*: " + std::to_string(full) + " runs \\|\\n");
    EXPECT_TRUE(std::regex_search(studies, row))
        << "docs/studies.md's table lacks a row for " << name << ".json ending in ': " << quick
        << " runs | ...: " << full << " runs |'";
    const std::regex line("experiments/" + name + "\\.json +--scale full --backend slurm +# +" +
                          std::to_string(full) + " runs\\n");
    EXPECT_TRUE(std::regex_search(sweeps, line)) << "docs/sweeps.md's full-scale list lacks "
                                                 << name << ".json with '# " << full << " runs'";
  }
  ASSERT_GT(specs, 10u);
  EXPECT_THAT(sweeps, ::testing::HasSubstr(with_commas(full_total) + " runs over the " +
                                           std::to_string(specs) + " specs"));
}

// The names of `psgd list`'s algorithm section, in order.
std::vector<std::string> listed_algorithms() {
  const ProcessResult list = run_psgd("list");
  EXPECT_EQ(list.exit_code, 0) << list.err;
  std::istringstream in(list.out);
  std::vector<std::string> names;
  bool in_section = false;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("algorithms", 0) == 0) {
      in_section = true;
    } else if (in_section && line.empty()) {
      break;
    } else if (in_section && line.size() > 2 && line[2] != ' ') {
      names.push_back(line.substr(2, line.find(' ', 2) - 2));
    }
  }
  return names;
}

TEST(DocsConsistencyEndToEnd, ReadmeAlgorithmTableIsPsgdList) {
  const std::string readme = slurp(kSource / "README.md");
  const std::size_t from = readme.find("<!-- algorithms:");
  ASSERT_NE(from, std::string::npos) << "README.md lost the marker before its algorithm table";
  std::istringstream in(readme.substr(from));
  std::vector<std::string> names;
  std::string line;
  std::getline(in, line);  // the marker
  while (std::getline(in, line) && line.rfind('|', 0) == 0) {
    if (line.rfind("| `", 0) == 0) names.push_back(line.substr(3, line.find('`', 3) - 3));
  }
  const std::vector<std::string> listed = listed_algorithms();
  ASSERT_GE(listed.size(), 10u) << "psgd list's format changed?";
  EXPECT_EQ(names, listed) << "README.md's algorithm table differs from `psgd list`";
}

TEST(DocsConsistencyEndToEnd, EveryPathAHelpNamesExists) {
  const std::regex path(R"(\b((docs|experiments|plots)/[A-Za-z0-9_./-]*[A-Za-z0-9_]))");
  std::set<std::string> named;
  for (const char* command :
       {"--help", "run --help", "sweep --help", "compare --help", "report --help", "topo --help"}) {
    const ProcessResult help = run_psgd(command);
    ASSERT_EQ(help.exit_code, 0) << command << ": " << help.err;
    for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), path);
         it != std::sregex_iterator(); ++it) {
      named.insert((*it)[1]);
      EXPECT_TRUE(fs::exists(kSource / (*it)[1].str()))
          << "psgd " << command << " names " << (*it)[1] << ", which does not exist";
    }
  }
  // Guards against passing on nothing: sweep --help names the spec format's page.
  EXPECT_EQ(named.count("docs/sweeps.md"), 1u);
}

}  // namespace
}  // namespace psgd::test
