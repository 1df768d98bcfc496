// harness/test/outputs_end_to_end_test.cpp — what psgd writes, through the real binary: no output
// replaces an input (the config, a data file, a compared document: each was once overwritten with
// exit 0), a long --out name keeps its result, the parameters are written before the document
// that names them, and duplicate or subnormal --epsilon targets are refused.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "harness/test/psgd_process.hpp"

namespace psgd::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kOutputsRun =
    "run --dataset synthetic-dense:64x4x2 --model linear --batch 4 --placement none --updates 20";

// 32768 x 4 weights: 512 KiB of float32 parameters.
const std::string kWideRun =
    "run --dataset synthetic-dense:64x32768x4 --model linear --batch 4 --placement none "
    "--updates 4";

class OutputsEndToEnd : public ScratchDirTest {
 protected:
  std::string at(const std::string& name) const { return (scratch_ / name).string(); }

  // Runs psgd with `args`, expects exit 2 with one line naming an input, and `kept` unchanged.
  void expect_refused(const std::string& args, const fs::path& kept) {
    const std::string before = slurp(kept);
    const ProcessResult r = run_psgd(args);
    EXPECT_EQ(r.exit_code, 2) << args << ": " << r.err;
    EXPECT_TRUE(one_line(r.err)) << args << ": " << r.err;
    EXPECT_NE(r.err.find("would replace an input"), std::string::npos) << args << ": " << r.err;
    EXPECT_EQ(slurp(kept), before) << args << " changed " << kept;
  }
};

TEST_F(OutputsEndToEnd, NoOutputReplacesTheConfigFile) {
  const fs::path config = write_text(scratch_ / "c.json", R"({"batch": 4})");
  const std::string run = kOutputsRun + " --config " + config.string();
  expect_refused(run + " --out " + config.string(), config);
  expect_refused(run + " --out=" + config.string(), config);
  expect_refused(run + " --out " + at("o.json") + " --save-params " + config.string(), config);
  EXPECT_FALSE(fs::exists(at("c.json.json")));
  // The side file of --save-params P is P.json.
  const fs::path side = write_text(scratch_ / "p.bin.json", R"({"batch": 4})");
  expect_refused(kOutputsRun + " --config " + side.string() + " --save-params " + at("p.bin"),
                 side);
  // Through a symbolic link, a hard link and another spelling of the same path.
  fs::create_symlink(config, scratch_ / "link.json");
  fs::create_hard_link(config, scratch_ / "hard.json");
  for (const std::string& out : {at("link.json"), at("hard.json"), at("x/../c.json")}) {
    fs::create_directories(scratch_ / "x");
    expect_refused(run + " --out " + out, config);
  }
  // Whatever else is wrong, the error document does not go over the config either.
  expect_refused(run + " --out " + config.string() + " --save-params " + config.string(), config);
  const ProcessResult r = run_psgd(run + " --no-such-option --out " + config.string());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(slurp(config), R"({"batch": 4})");
}

TEST_F(OutputsEndToEnd, NoOutputReplacesADataFile) {
  fs::create_directories(scratch_ / "gd");
  const fs::path labels = write_text(scratch_ / "gd" / "train-labels-idx1-ubyte.gz", "labels");
  const std::string run = "run --dataset mnist --data-dir " + (scratch_ / "gd").string() +
                          " --model linear --placement none";
  expect_refused(run + " --out " + labels.string(), labels);
  expect_refused(run + " --save-params " + labels.string(), labels);
  // Before the data set is known (a bad option), the error document still keeps off it.
  const ProcessResult r = run_psgd(run + " --no-such-option --out " + labels.string());
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(slurp(labels), "labels");
}

TEST_F(OutputsEndToEnd, CompareNeverWritesItsMarkdownOverAnInput) {
  const json doc = {{"schema_version", 1},
                    {"kind", "psgd-nightly"},
                    {"context", {{"cpu", "X"}, {"hardware_threads", 2}}},
                    {"benchmarks",
                     {{{"name", "micro/a"},
                       {"unit", "GFLOP/s"},
                       {"higher_is_better", true},
                       {"samples", {1.0, 1.0, 1.0, 1.0, 1.0}}}}},
                    {"deterministic", json::array()}};
  const fs::path base = write_text(scratch_ / "base.json", doc.dump());
  const fs::path now = write_text(scratch_ / "new.json", doc.dump());
  const std::string files = "compare " + base.string() + " " + now.string() + " --markdown ";
  expect_refused(files + base.string(), base);
  expect_refused(files + now.string(), now);
  const ProcessResult r = run_psgd(files + at("report.md"));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(scratch_ / "report.md"));
}

// A 255-character name (the usual NAME_MAX) is written: its temporary name is cut to fit. One
// character more is refused before any work, with one line.
TEST_F(OutputsEndToEnd, ALongOutNameKeepsItsResultAndATooLongOneIsRefusedFirst) {
  const std::string longest = at(std::string(250, 'a') + ".json");
  ProcessResult r = run_psgd(kOutputsRun + " --out " + longest);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(slurp(longest))["status"].get<std::string>().empty(), false);
  for (const auto& entry : fs::directory_iterator(scratch_)) {
    EXPECT_EQ(entry.path().string().find(".tmp."), std::string::npos) << entry.path();
  }
  r = run_psgd(kOutputsRun + " --out " + at(std::string(251, 'b') + ".json"));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_NE(r.err.find("File name too long"), std::string::npos) << r.err;
  // --save-params P also writes P.json: a P of 251 characters leaves P.json no room.
  r = run_psgd(kOutputsRun + " --out " + at("o.json") + " --save-params " +
               at(std::string(251, 'c')));
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_TRUE(one_line(r.err)) << r.err;
  EXPECT_FALSE(fs::exists(at(std::string(251, 'c'))));
}

// The parameters, then their side file, then the run document: a reader that finds the document
// finds the pair. Shown with a FIFO as --save-params: while psgd writes to it, the document must
// not be there yet (512 KiB of parameters, more than a pipe holds, so psgd waits for the reader
// until the check is made). A FIFO, like /dev/null, gets no side file (/dev/null.json once).
TEST_F(OutputsEndToEnd, TheParametersComeBeforeTheDocumentAndADeviceGetsNoSideFile) {
  const std::string fifo = at("params.fifo");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  const std::string doc = at("run.json");
  const ProcessResult r =
      run_shell("(" + std::string(PSGD_BINARY) + " " + kWideRun + " --out " + doc +
                " --save-params " + fifo + " & exec 3<" + fifo + "; if [ -e " + doc +
                " ]; then echo document-first; fi; cat <&3 >/dev/null; wait $!; echo exit=$?)");
  EXPECT_EQ(r.out, "exit=0\n") << r.err;
  EXPECT_NE(r.err.find("no side file"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(fifo + ".json"));
  EXPECT_TRUE(fs::exists(doc));

  const ProcessResult pair =
      run_psgd(kOutputsRun + " --out " + doc + " --save-params " + at("p.bin"));
  ASSERT_EQ(pair.exit_code, 0) << pair.err;
  EXPECT_TRUE(fs::exists(at("p.bin")) && fs::exists(at("p.bin.json")));
  EXPECT_LE(fs::last_write_time(at("p.bin.json")), fs::last_write_time(doc));
}

TEST_F(OutputsEndToEnd, DuplicateAndSubnormalEpsilonTargetsAreRefused) {
  for (const char* eps : {"50%,50%,0.01", "0.3,0.30", "1e-320", "1e-320%"}) {
    const ProcessResult r = run_psgd(kOutputsRun + " --out " + at("e.json") + " --epsilon " + eps);
    EXPECT_EQ(r.exit_code, 2) << eps << ": " << r.err;
    EXPECT_TRUE(one_line(r.err)) << eps << ": " << r.err;
    EXPECT_NE(r.err.find("--epsilon must be"), std::string::npos) << eps << ": " << r.err;
  }
  // A target is recorded as given, not rounded to six digits; distinct targets all count.
  const ProcessResult r =
      run_psgd(kOutputsRun + " --out " + at("e.json") + " --epsilon 50%,0.1234567,2.5e-300");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const json d = json::parse(slurp(at("e.json")));
  EXPECT_EQ(d["config"]["epsilon"], "50%,0.1234567,2.5e-300");
}

}  // namespace
}  // namespace psgd::test
