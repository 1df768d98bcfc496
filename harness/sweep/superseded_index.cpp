// harness/sweep/superseded_index.cpp — index.csv and sweep.json for each superseded/<build id>/.
#include "harness/sweep/superseded_index.hpp"

#include <filesystem>
#include <fstream>
#include <optional>

#include "harness/run/report.hpp"
#include "harness/sweep/run_index.hpp"

namespace psgd {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

// The JSON object at path, or nullopt (missing, not regular, not an object, truncated).
std::optional<json> read_object(const fs::path& path) {
  if (!is_regular_file_at(path.string())) return std::nullopt;
  std::ifstream in(path);
  const json doc = json::parse(in, nullptr, /*allow_exceptions=*/false);
  if (!doc.is_object()) return std::nullopt;
  return doc;
}

}  // namespace

std::size_t index_superseded(const ResultsDir& dir, const SweepSpec& spec,
                             const std::vector<PlannedRun>& runs, bool refresh_all) {
  const fs::path root = fs::path(dir.dir()) / "superseded";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) return 0;
  const std::optional<json> plan = read_object(fs::path(dir.dir()) / "sweep.json");
  std::size_t indexed = 0;
  // Iterated with error codes: a folder that vanishes or cannot be listed midway ends the
  // listing rather than throwing out of the sweep.
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    const fs::directory_entry& build = *it;
    std::error_code type_ec;
    if (!build.is_directory(type_ec)) continue;
    if (!refresh_all && fs::exists(build.path() / "index.csv", type_ec)) continue;
    std::vector<std::optional<IndexEntry>> entries(runs.size());
    std::optional<json> context;
    for (std::size_t i = 0; i < runs.size(); ++i) {
      const std::optional<json> doc = read_object(build.path() / (runs[i].run_id + ".json"));
      if (!doc) continue;
      entries[i] = read_index_entry(*doc);
      if (!context && doc->contains("context")) context = (*doc)["context"];
    }
    write_index((build.path() / "index.csv").string(), spec, runs, entries);
    json doc = plan.value_or(json::object());
    const std::string id = build.path().filename().string();
    doc["build_id"] = id == "unrecorded-build" ? json(nullptr) : json(id);
    // The plan's context and build block are of the sweep that moved these results; these are
    // of the build that made them, as its runs recorded.
    doc["context"] = context.value_or(json(nullptr));
    const json& c = doc["context"];
    const auto field = [&c](const char* key) {
      return c.is_object() && c.contains(key) ? c[key] : json(nullptr);
    };
    doc["build"] = {
        {"id", doc["build_id"]}, {"git_sha", field("git_sha")}, {"git_dirty", field("git_dirty")}};
    doc["superseded"] = true;
    write_json(doc, (build.path() / "sweep.json").string());
    ++indexed;
  }
  return indexed;
}

}  // namespace psgd
