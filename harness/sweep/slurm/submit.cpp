// harness/sweep/slurm/submit.cpp — pending runs -> arrays -> scripts -> sbatch -> job records.
#include "harness/sweep/slurm/submit.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <ostream>

#include "common/errors.hpp"
#include "harness/cli/atomic_file.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/run/report.hpp"
#include "harness/sweep/resume.hpp"
#include "harness/sweep/run_index.hpp"
#include "harness/sweep/slurm/collect.hpp"
#include "harness/sweep/slurm/files.hpp"
#include "harness/sweep/slurm/script.hpp"

namespace psgd {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// "20261126T130601Z-4242": names this submission's scripts apart from earlier ones.
std::string submission_stamp() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return std::string(buf) + "-" + std::to_string(getpid());
}

// #SBATCH lines split on white space and do not unquote: the paths they carry must not need it.
void check_sbatch_path(const std::string& path) {
  if (path.find_first_of(" \t\r\n'\"\\%") != std::string::npos) {
    throw ConfigError("--backend slurm: the results folder '" + path +
                      "' has a space, quote or % that an #SBATCH line cannot carry; use "
                      "--results-dir with a plain path");
  }
}

std::string absolute(const std::string& path) {
  std::error_code ec;
  const fs::path p = fs::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

json job_record(const std::string& job_id, const SlurmScriptInputs& in, const SlurmArray& array,
                const std::vector<PlannedRun>& runs, const std::string& script,
                const SchedulerOptions& options) {
  json tasks = json::array();
  for (const auto& task : array.tasks) {
    json ids = json::array();
    for (const std::size_t i : task) ids.push_back(runs[i].run_id);
    tasks.push_back(ids);
  }
  return {{"schema_version", kSchemaVersion},
          {"job_id", job_id},
          {"job_name", in.job_name},
          {"sweep", in.sweep_id},
          {"submitted_at", run_context()["date"]},
          {"script", script},
          {"tasks_file", in.tasks_file},
          {"threads", array.threads},
          {"ranks", array.ranks},
          {"time_limit", in.time_limit},
          {"redo_crashed", options.redo_crashed},
          {"settings", to_json(in.settings)},
          {"tasks", tasks}};
}

// The hint printed after a submission: how to watch and collect.
std::string follow_up(const SweepSpec& spec, const SchedulerOptions& options,
                      const std::string& job_name) {
  std::string collect = "psgd sweep " + options.spec_path;
  if (!spec.scale.empty()) collect += " --scale " + spec.scale;
  return "watch: squeue --name=" + job_name + "   collect and count: " + collect + " --collect\n";
}

// Writes the array's tasks file and script, submits it, records the job, and says so. The record
// is written only once sbatch has answered: a failed sbatch leaves no job to wait for.
void submit_array(const SlurmScriptInputs& in, const SlurmArray& array,
                  const std::vector<PlannedRun>& runs, const std::string& stem,
                  const SchedulerOptions& options, const SlurmClient& slurm, std::ostream& out) {
  write_text_atomically(in.tasks_file, tasks_file_text(runs, array));
  write_text_atomically(stem + ".sh", array_script(in, array));
  const std::string job_id = slurm.submit(stem + ".sh");
  write_json(job_record(job_id, in, array, runs, stem + ".sh", options),
             in.log_dir + "/job-" + job_id + ".json");
  out << "submitted job " << job_id << ": " << array.run_count() << " run(s) in "
      << array.tasks.size() << " array task(s), " << array.threads << " CPU(s) each";
  if (array.ranks > 1) out << " per rank, " << array.ranks << " ranks";
  out << ", time limit " << in.time_limit << "\n";
}

}  // namespace

int submit_sweep(const SweepSpec& spec, const SchedulerOptions& options,
                 const SlurmSubmission& submission, const std::vector<PlannedRun>& runs,
                 ResultsDir& dir, const SlurmClient& slurm, bool dry_run, std::ostream& out) {
  const std::string folder = absolute(dir.dir());
  check_sbatch_path(folder);
  const std::string records = folder + "/slurm";
  std::optional<FileLock> shared;
  std::optional<FileLock> own;
  if (!dry_run) {
    std::error_code ec;
    fs::create_directories(records, ec);
    if (ec) throw EnvironmentError("cannot create '" + records + "': " + ec.message());
    shared.emplace(folder + "/.lock", FileLock::Mode::kShared, "a local `psgd sweep`");
    own.emplace(records + "/.lock", FileLock::Mode::kExclusive,
                "another `psgd sweep --collect` or `--backend slurm`");
  }
  if (options.rerun && !dry_run) {
    // --rerun: every result goes to superseded/ now, so the tasks find nothing done.
    for (const PlannedRun& run : runs) {
      const ResumeCheck check = check_resume(dir, run.run_id, options);
      if (check.action == Resume::kRerun || check.action == Resume::kBroken)
        (void)move_aside(dir, run.run_id, check);
    }
  }
  const SlurmCollection c = collect_slurm_runs(spec, runs, dir, slurm, /*commit=*/!dry_run);
  if (c.queue_asked && !c.queue.known) {
    throw EnvironmentError("cannot tell which runs are already queued or running: " +
                           c.queue.error);
  }
  if (!dry_run) write_index(dir.index_path(), spec, runs, c.summaries);
  print_collection(c, spec, runs, out);
  const std::vector<std::size_t> pending = runs_to_submit(c, runs, options);
  if (pending.empty()) {
    out << "nothing to submit"
        << (options.redo_crashed ? ""
                                 : " (crashed runs count as done; "
                                   "--redo-crashed runs them again)")
        << "\n";
    return 0;
  }
  const std::vector<SlurmArray> arrays = plan_arrays(runs, pending, submission.settings);
  SlurmScriptInputs in{
      .sweep_id = spec.sweep_id(),
      .job_name = slurm_job_name(spec.sweep_id()),
      .settings = submission.settings,
      .time_limit = slurm_time_limit(spec.timeout_seconds, submission.settings.runs_per_task),
      .tasks_file = "",
      .log_dir = records,
      .task_argv = submission.task_argv};
  out << (dry_run ? "would submit " : "submitting ") << pending.size() << " run(s) in "
      << arrays.size() << " job array(s)\n";
  if (!dry_run) {
    json doc = sweep_document(spec, options, runs);
    doc["backend"] = "slurm";
    doc["slurm"] = to_json(submission.settings);
    write_json(doc, folder + "/sweep.json");
  }
  const std::string stamp = submission_stamp();
  for (std::size_t a = 0; a < arrays.size(); ++a) {
    const std::string stem = records + "/" + stamp + "-" + std::to_string(a);
    in.tasks_file = stem + ".tasks";
    if (dry_run) {
      out << "# ---- array " << a + 1 << " of " << arrays.size() << ": " << stem << ".sh ----\n"
          << array_script(in, arrays[a]) << "# ---- its tasks file " << in.tasks_file
          << ", one line per task ----\n"
          << tasks_file_text(runs, arrays[a]);
    } else {
      submit_array(in, arrays[a], runs, stem, options, slurm, out);
    }
  }
  if (!dry_run) out << follow_up(spec, options, in.job_name);
  return 0;
}

}  // namespace psgd
