// End-to-end tests of `psgd report` (the real binary, which hands the drawing to plots/report.py):
// a page of the committed fixture sweep with one table row per run and nothing fetched from a
// network, and bad input answered with one line and exit 2 (exit 3 where Python or report.py is
// missing) before anything is written. The page in a real browser: plots/test/browser_report.py
// (ctest PlotsReport.Browser).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace {

namespace fs = std::filesystem;

using psgd::test::one_line;
using psgd::test::slurp;
using Result = psgd::test::ProcessResult;

const fs::path kFixture = fs::path(PSGD_SOURCE_DIR) / "plots" / "test" / "data" / "sweep";

fs::path report_dir() {
  static const fs::path dir = psgd::test::scratch_dir("psgd_report");
  return dir;
}

Result report(const std::string& args) { return psgd::test::run_psgd("report " + args); }

std::size_t count(const std::string& text, const std::regex& pattern) {
  return static_cast<std::size_t>(
      std::distance(std::sregex_iterator(text.begin(), text.end(), pattern), {}));
}

// The fixture's index rows (its lines less the header).
std::size_t fixture_runs() {
  std::ifstream in(kFixture / "index.csv");
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) lines += line.empty() ? 0 : 1;
  return lines - 1;
}

TEST(ReportEndToEnd, APageOfTheFixtureHasOneRowPerRunAndFetchesNothing) {
  const fs::path out = report_dir() / "fixture.html";
  const Result r = report(kFixture.string() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string page = slurp(out);
  ASSERT_FALSE(page.empty());
  // Each row of a runs table starts with the run id's link to its curves.
  const std::regex row("<tr><td data-v=\"[^\"]*\"><a href=\"#s0-");
  EXPECT_EQ(count(page, row), fixture_runs());
  EXPECT_NE(page.find("crashed"), std::string::npos);  // the fixture's crashed run is counted
  EXPECT_NE(page.find("<svg"), std::string::npos);     // its finished runs' curves are drawn
  // No src or href leaves the file: no network fetch, no CDN.
  EXPECT_EQ(count(page, std::regex("(src|href)=\"(https?:)?//")), 0U);
}

TEST(ReportEndToEnd, TwoSourcesSideBySide) {
  const fs::path out = report_dir() / "two.html";
  const Result r = report(kFixture.string() + " " + kFixture.string() + " --out " + out.string());
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string page = slurp(out);
  EXPECT_NE(page.find("sources side-by-side"), std::string::npos);
  EXPECT_EQ(count(page, std::regex("<table class=\"runs\"")), 2U);
}

TEST(ReportEndToEnd, BadInputIsOneLineAndExitTwo) {
  const fs::path out = report_dir() / "bad.html";
  const fs::path empty = report_dir() / "no-index";
  fs::create_directories(empty);
  const std::string fixture = kFixture.string();
  const struct {
    std::string args;
    std::string says;
  } cases[] = {
      {"--out " + out.string(), "usage: psgd report"},
      {fixture, "usage: psgd report"},
      {fixture + " --out " + (report_dir() / "page.txt").string(), "must name a .html file"},
      {(report_dir() / "missing").string() + " --out " + out.string(), "does not exist"},
      {empty.string() + " --out " + out.string(), "has no index.csv"},
      {(kFixture / "index.csv").string() + " --out " + out.string(), "neither a sweep folder"},
      {fixture + " --out " + out.string() + " --colour red", "unknown option '--colour'"},
      {fixture + " --out " + out.string() + " --figures " + (report_dir() / "nowhere").string(),
       "is not a folder"},
  };
  for (const auto& c : cases) {
    const Result r = report(c.args);
    EXPECT_EQ(r.exit_code, 2) << c.args << "\n" << r.err;
    EXPECT_TRUE(one_line(r.err)) << c.args << "\n" << r.err;
    EXPECT_NE(r.err.find(c.says), std::string::npos) << c.args << "\n" << r.err;
  }
  EXPECT_FALSE(fs::exists(out));
}

TEST(ReportEndToEnd, AnOutputOverAnInputIsRefused) {
  // --out a link to the run document given as input: the page would replace a result.
  const fs::path doc = report_dir() / "run.json";
  const fs::path link = report_dir() / "link.html";
  fs::copy_file(kFixture / "algo-leashed_threads-4__r0-06f0cf.json", doc,
                fs::copy_options::overwrite_existing);
  fs::remove(link);
  fs::create_symlink(doc, link);
  const std::string before = slurp(doc);
  const Result r = report(doc.string() + " --out " + link.string());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("would replace an input"), std::string::npos) << r.err;
  EXPECT_EQ(slurp(doc), before);
}

TEST(ReportEndToEnd, MissingPythonOrScriptIsExitThree) {
  const fs::path out = report_dir() / "env.html";
  const std::string base = kFixture.string() + " --out " + out.string();
  const Result no_python = report(base + " --python " + (report_dir() / "no-python").string());
  EXPECT_EQ(no_python.exit_code, 3) << no_python.err;
  EXPECT_TRUE(one_line(no_python.err)) << no_python.err;
  const Result no_script = report(base + " --plots " + report_dir().string());
  EXPECT_EQ(no_script.exit_code, 3) << no_script.err;
  EXPECT_NE(no_script.err.find("no report.py"), std::string::npos) << no_script.err;
  EXPECT_FALSE(fs::exists(out));
}

TEST(ReportEndToEnd, HelpExitsZero) {
  const Result r = report("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("self-contained HTML"), std::string::npos);
}

}  // namespace
