// harness/report/report_command.cpp — `psgd report`: checks the command line here, so that bad
// input gets psgd's one-line errors and exit codes, then hands the drawing to plots/report.py
// (matplotlib and a jinja2 template draw better than C++ would, and the figure scripts already
// read results there) by exec: the page is Python's, its exit code psgd's.
#include "harness/report/report_command.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/errors.hpp"
#include "harness/cli/input_guard.hpp"
#include "harness/cli/option_table.hpp"

#if !defined(PSGD_PLOTS_DIR) || !defined(PSGD_INSTALLED_PLOTS_DIR)
#error "PSGD_PLOTS_DIR (the source tree's plots/) and PSGD_INSTALLED_PLOTS_DIR are set by CMake"
#endif

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The folder of report.py: the installed package beside this binary (`make install` puts it at
// BIN/PSGD_INSTALLED_PLOTS_DIR, i.e. PREFIX/share/psgd/python/plots), so that an installed psgd
// draws with its own copy, else plots/ of the source tree this binary was built from.
std::string default_plots_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const fs::path installed = (exe.parent_path() / PSGD_INSTALLED_PLOTS_DIR).lexically_normal();
    if (fs::is_regular_file(installed / "report.py", ec)) return installed.string();
  }
  return PSGD_PLOTS_DIR;
}

struct ReportOptions {
  std::vector<std::string> inputs;  // sweep folders and run documents, in the page's order
  std::string out;
  std::string figures;                      // empty: the folders' own figures only
  std::string title;                        // empty: report.py's default
  std::string python = "/usr/bin/python3";  // Debian's, which has matplotlib and jinja2
  std::string plots = default_plots_dir();
};

const OptionTable<ReportOptions>& report_options() {
  using O = ReportOptions;
  static const OptionTable<ReportOptions> table(
      "report",
      {text_option<O>("out", "FILE.html", "the page to write (required; replaced atomically)",
                      &O::out),
       text_option<O>("figures", "DIR",
                      "also take each sweep's figures (SPEC.png, SPEC_*.png, each with its\n"
                      ".caption.md) from DIR, e.g. plots/figures",
                      &O::figures),
       text_option<O>("title", "TEXT", "the page's title [the sources' names]", &O::title),
       text_option<O>("python", "PATH", "the Python that draws (needs matplotlib and jinja2)",
                      &O::python),
       text_option<O>("plots", "DIR",
                      "the package folder plots/ that holds report.py\n"
                      "(an installed psgd's own copy, else the source tree's)",
                      &O::plots)});
  return table;
}

// A sweep folder has index.csv (psgd sweep writes it, and rebuilds it with --collect); a run
// document is a .json file, which report.py reads and refuses with one line if it is no psgd run.
void check_input(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (!fs::exists(fs::path(path) / "index.csv", ec)) {
      throw ConfigError("'" + path +
                        "' has no index.csv: not a sweep folder (psgd sweep SPEC --collect "
                        "rebuilds the index)");
    }
    return;
  }
  if (!fs::is_regular_file(path, ec)) {
    throw ConfigError("'" + path + "' does not exist; give sweep folders or run documents");
  }
  if (fs::path(path).extension() != ".json") {
    throw ConfigError("'" + path + "' is neither a sweep folder nor a run document (.json)");
  }
}

ReportOptions parse_report_args(std::span<const std::string_view> args) {
  ReportOptions o;
  report_options().parse(args, o, [&o](std::string_view p) { o.inputs.emplace_back(p); });
  if (o.inputs.empty() || o.out.empty()) {
    throw ConfigError(
        "usage: psgd report DIR_OR_RUN... --out FILE.html [options] (psgd report --help)");
  }
  if (fs::path(o.out).extension() != ".html") {
    throw ConfigError("--out '" + o.out + "' must name a .html file");
  }
  std::vector<NamedPath> inputs;
  for (const std::string& input : o.inputs) {
    check_input(input);
    inputs.push_back({input, "input"});
  }
  refuse_outputs_over_inputs({{o.out, "--out"}}, inputs);
  if (!o.figures.empty() && !fs::is_directory(o.figures)) {
    throw ConfigError("--figures '" + o.figures + "' is not a folder");
  }
  return o;
}

// Replaces this process with report.py; returns only when that cannot start.
[[noreturn]] void exec_report(const ReportOptions& o) {
  const std::string script = (fs::path(o.plots) / "report.py").string();
  if (!fs::is_regular_file(script)) {
    throw EnvironmentError("no report.py in '" + o.plots +
                           "' (the source tree moved? give --plots DIR)");
  }
  if (::access(o.python.c_str(), X_OK) != 0) {
    throw EnvironmentError("--python '" + o.python +
                           "' is not an executable (make plots-deps installs " +
                           "Debian's python3 with matplotlib and jinja2)");
  }
  std::vector<std::string> argv = {o.python, script};
  argv.insert(argv.end(), o.inputs.begin(), o.inputs.end());
  argv.insert(argv.end(), {"--out", o.out});
  if (!o.figures.empty()) argv.insert(argv.end(), {"--figures", o.figures});
  if (!o.title.empty()) argv.insert(argv.end(), {"--title", o.title});
  std::vector<char*> cargv;
  for (std::string& a : argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  std::cout.flush();
  std::cerr.flush();
  ::execv(cargv[0], cargv.data());
  throw EnvironmentError("cannot run '" + o.python + "': " + std::strerror(errno));
}

}  // namespace

std::string report_help() {
  return "usage: psgd report DIR_OR_RUN... --out FILE.html [options]\n"
         "\n"
         "Writes one self-contained HTML page (no network fetch: it works from a file:// URL and\n"
         "as a CI artefact) of sweep folders (with index.csv) and run documents (.json; those\n"
         "given are shown together as one source). Per source: the spec and its claim,\n"
         "provenance (build, machine, load, dates), status counts, a sortable and filterable\n"
         "table of every run, the sweep's figures with their captions, and each point's loss\n"
         "and accuracy curves; several sources side by side (e.g. two builds' folders). Drawn\n"
         "by plots/report.py under Debian's python3 (jinja2, matplotlib, numpy, pandas: make "
         "plots-deps).\n"
         "\n"
         "Options:\n" +
         report_options().help_lines(ReportOptions{}) +
         "  --help                  this text\n"
         "\n"
         "Exit codes: 0 written, 2 bad input (arguments, a path that is no sweep folder or run\n"
         "document, --out naming an input), 3 the page cannot be written or Python, report.py\n"
         "or a Python package is missing.\n";
}

int report_main(std::span<const std::string_view> args) {
  if (wants_help(args)) {
    std::cout << report_help();
    return 0;
  }
  try {
    exec_report(parse_report_args(args));
  } catch (const ConfigError& e) {
    std::cerr << "psgd report: " << e.what() << "\n";
    return kExitConfigError;
  } catch (const EnvironmentError& e) {
    std::cerr << "psgd report: " << e.what() << "\n";
    return kExitEnvironmentError;
  }
}

CompletionCommand report_completion() {
  return {"report",
          "one self-contained HTML page of sweep folders and run documents",
          report_options().completion_options(),
          true,
          {}};
}

}  // namespace psgd
