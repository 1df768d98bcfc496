// harness/run/run_command.cpp — the path of one run: every check before anything is loaded
// (harness/run/preflight.hpp), the data and the model, training with every worker pinned, then
// the evaluation of the snapshots and the one JSON document.
#include "harness/run/run_command.hpp"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <map>
#include <new>
#include <optional>
#include <thread>

#include "algorithms/registry.hpp"
#include "algorithms/replicated_layout.hpp"
#include "algorithms/replicated_options.hpp"
#include "algorithms/runner.hpp"
#include "common/cpu_model.hpp"
#include "common/errors.hpp"
#include "common/precision.hpp"
#include "harness/cli/atomic_file.hpp"
#include "harness/cli/build_info.hpp"
#include "harness/cli/input_guard.hpp"
#include "harness/machine/machine_limits.hpp"
#include "harness/machine/numa_memory.hpp"
#include "harness/machine/numa_shared_memory.hpp"
#include "harness/machine/placement.hpp"
#include "harness/machine/topology.hpp"
#include "harness/run/evaluation.hpp"
#include "harness/run/ignored_options.hpp"
#include "harness/run/memory_check.hpp"
#include "harness/run/mpi_run.hpp"
#include "harness/run/preflight.hpp"
#include "harness/run/ranks.hpp"
#include "harness/run/report.hpp"
#include "harness/run/run_budget.hpp"
#include "harness/run/run_config.hpp"
#include "harness/run/run_outputs.hpp"
#include "harness/run/run_progress.hpp"
#include "harness/run/run_record.hpp"
#include "harness/run/run_summary.hpp"
#include "harness/run/speed_of_light.hpp"
#include "harness/run/stop_signals.hpp"
#include "models/data/load.hpp"
#include "models/model_factory.hpp"
#include "models/model_flops.hpp"
#include "models/model_gemm.hpp"

namespace psgd {
namespace {

using nlohmann::json;

// --test-fault: lets the sweep's tests produce a crashing, hanging or failing child on demand
// (`worker-throw`, a worker whose set-up throws, is raised in the last worker, in train()).
void inject_test_fault(const std::string& fault) {
  if (fault == "abort") std::abort();
  if (fault == "hang") {
    for (;;) std::this_thread::sleep_for(std::chrono::hours(1));
  }
  if (fault.rfind("exit:", 0) == 0) std::_Exit(std::stoi(fault.substr(5)));
}

// `replicated`'s replicas on the planned placement, as its init() will group them: per replica
// its node, workers, their planned CPUs and where its memory will be bound (a topology of
// --topology-synthetic plans them without the machine).
json planned_replicas(const RunConfig& cfg, const PlacementSetup& place) {
  const AlgorithmSetup setup = algorithm_setup(cfg);
  const ReplicaChoice choice = setup.settings.get<ReplicaChoice>(replicas_option());
  std::vector<int> nodes;
  for (const CpuSlot& slot : place.plan) nodes.push_back(slot.numa_node);
  json replicas = json::array();
  for (const ReplicaPlan& r : plan_replicas(choice, cfg.threads, nodes)) {
    json cpus = json::array();
    for (const int w : r.workers) cpus.push_back(place.plan[static_cast<std::size_t>(w)].cpu);
    replicas.push_back({{"node", r.node},
                        {"workers", r.workers},
                        {"planned_cpus", cpus},
                        {"memory", r.node >= 0 ? "bind:" + std::to_string(r.node) : "--memory"}});
  }
  return replicas;
}

int print_dry_run(const RunConfig& cfg, const PlacementSetup& place) {
  json doc;
  doc["schema_version"] = kSchemaVersion;
  doc["status"] = "dry_run";
  doc["argv"] = cfg.argv;
  doc["config"] = config_to_json(cfg);
  doc["placement"] = place.to_json({}, nullptr);
  if (cfg.algorithm == "replicated") doc["replicas"] = planned_replicas(cfg, place);
  write_json(doc, cfg.out);
  return 0;
}

// Trains with every worker pinned per the plan; `observed` receives where each worker ran.
// first_source: the method's first computing slot (AlgorithmEntry::first_source) on the setup
// with its process group, so that `shard` cuts over the computing slots of every rank.
template <class S>
BasicTrainingOutcome<S> train(const RunConfig& cfg, const InitSpec& init, BasicAlgorithm<S>& algo,
                              const BasicModel<S>& model, const DataSplit& data,
                              const PlacementSetup& place, const Budget& budget,
                              SharedMemory& shared_memory, std::vector<ObservedSlot>& observed,
                              const ProcessGroup* group, int first_source,
                              ProgressPrinter* progress, const std::atomic<int>* stop_request,
                              const std::function<SharedMemory&(int node)>& node_memory) {
  std::vector<S> theta0(model.num_params());
  initialize_params(model, init, cfg.seed, theta0);
  RunnerOptions ro;
  ro.threads = cfg.threads;
  ro.seed = cfg.seed;
  ro.batch_size = static_cast<std::size_t>(cfg.batch);
  ro.step = cfg.step;
  ro.total_updates = budget.total;
  ro.total_gradients = budget.gradients;
  ro.checkpoint_updates = budget.checkpoint_updates;
  ro.time_limit_seconds = cfg.time_limit_seconds;
  ro.updates_per_epoch = budget.per_epoch;
  ro.checkpoints_per_epoch = cfg.checkpoints;
  // No staleness exceeds the budget: more bins than budget + 1 would only cost memory.
  // (Compared before adding 1: a budget can be 2^63 - 1.)
  ro.staleness_bins = static_cast<std::size_t>(
      cfg.staleness_bins <= budget.total ? cfg.staleness_bins : budget.total + 1);
  ro.batch_order = batch_order_of(cfg);
  ro.first_source = first_source;
  ro.pace = cfg.pace;
  if (group != nullptr) {  // this rank's workers among every rank's, for seeds and shards
    ro.pace = rank_pace(cfg, *group);
    ro.first_worker = group->rank() * cfg.threads;
    ro.total_workers = group->size() * cfg.threads;
  }
  observed.assign(static_cast<std::size_t>(cfg.threads), ObservedSlot{});
  ro.on_worker_start = [&](int worker) {
    const auto w = static_cast<std::size_t>(worker);
    bind_current_thread(place.topology, place.plan[w]);
    // Threads inherit the creator's memory policy; a worker's own buffers are first-touch local.
    set_thread_memory_policy(MemoryPolicy{});
    observed[w] = observe_current_thread(place.topology, worker);
    if (cfg.test_fault == "worker-throw" && worker == cfg.threads - 1) {
      throw EnvironmentError("worker " + std::to_string(worker) + " of " +
                             std::to_string(cfg.threads) + ": --test-fault worker-throw");
    }
  };
  // Every shared allocation of the algorithm goes through shared_memory, under --memory.
  ro.shared_memory = &shared_memory;
  // Each worker's planned node and CPU, and memory bound to a node: `replicated` places each of
  // its replicas on its workers' node (the other methods ignore them).
  for (const CpuSlot& slot : place.plan) {
    ro.worker_nodes.push_back(slot.numa_node);
    ro.worker_cpus.push_back(slot.cpu);
  }
  ro.node_memory = node_memory;
  ro.stop_request = stop_request;
  if (progress != nullptr) {
    ro.on_progress = [progress](const LiveProgress& p) { progress->show(p); };
  }
  return run_training<S>(algo, model, data.train, theta0, ro);
}

DataRecord data_record(const DataSplit& data, const RunConfig& cfg) {
  const ImageShape& shape = data.train.shape();
  DataRecord d;
  d.name = data.name;
  d.source = data.source;
  d.train_samples = static_cast<std::int64_t>(data.train.size());
  d.test_samples = static_cast<std::int64_t>(data.test.size());
  d.shape = {shape.channels, shape.height, shape.width};
  d.classes = static_cast<std::int64_t>(data.train.num_classes());
  d.pixel_scale = cfg.raw_pixels ? "raw 0..255" : "[0,1]";
  return d;
}

template <class S>
std::size_t filled_snapshots(const BasicCheckpoints<S>& cp) {
  std::size_t n = 0;
  for (std::size_t k = 0; k < cp.num_slots(); ++k) n += cp.slot(k).filled ? 1 : 0;
  return n;
}

// Evaluates every filled snapshot (after the join, so evaluation steals no training time).
template <class S>
void evaluate_snapshots(RunFacts<S>& facts, const BasicModel<S>& model, const DataSplit& data,
                        const RunConfig& cfg) {
  const BasicCheckpoints<S>& cp = *facts.outcome->checkpoints;
  std::vector<std::span<const S>> snapshots;
  for (std::size_t k = 0; k < cp.num_slots(); ++k) {
    if (!cp.slot(k).filled) continue;
    facts.slots.push_back(k);
    snapshots.push_back(cp.params(k));
  }
  facts.points =
      evaluate_all(model, snapshots, data, static_cast<std::size_t>(cfg.eval_samples), cfg.threads);
}

// The run in precision S: every object that holds parameters is built for S here, once.
// ranked: this process among the ranks under --backend mpi (its group null: one process).
// Every rank trains; rank 0 alone evaluates and writes (harness/run/mpi_run.hpp).
template <class S>
int run_in_precision(const RunConfig& cfg, Activation activation, const InitSpec& init,
                     RankedRun& ranked) {
  ProcessGroup* const group = ranked.group();
  // Declared before the algorithm, which allocates from it: the memory must outlive it.
  std::optional<NumaSharedMemory> shared_memory;
  // Memory bound to one node each, made on first use (`replicated`'s replicas), when libnuma
  // can bind; otherwise every allocation follows --memory.
  std::map<int, NumaSharedMemory> node_memories;
  AlgorithmSetup setup = algorithm_setup(cfg);
  setup.group = group;
  const AlgorithmPtr<S> algo = builtin_algorithms().make<S>(cfg.algorithm, setup);
  const PlacementSetup place = plan_run_placement(cfg);
  if (cfg.dry_run) {
    ranked.settle_setup(cfg, nullptr);
    return ranked.speaks() ? print_dry_run(cfg, place) : 0;
  }
  const bool speaks = ranked.speaks();
  // On the setup with its group: under --backend mpi the first source counts every rank's slots
  // (the parameter server's rank 1 x 1 thread computes, its rank 0 x 1 thread does not), and so
  // do the roles.
  const int first_source = builtin_algorithms().at(cfg.algorithm).first_source(setup);
  const std::string roles =
      worker_roles(cfg.algorithm, cfg.threads * setup.processes(), first_source);

  check_histograms_fit(cfg);
  check_synthetic_fits(cfg, activation);
  const DataSplit data = load_dataset({cfg.dataset, cfg.data_dir, cfg.raw_pixels, cfg.seed});
  const std::unique_ptr<BasicModel<S>> model =
      make_model<S>(cfg.model, activation, data.train.shape(), data.train.num_classes());
  check_model_fits(model->num_params(), cfg);
  check_batch_fits(cfg, data.train.size(), data.name);
  for (const std::string& line : ignored_option_warnings(cfg, data.train.size())) {
    std::cerr << "psgd run: warning: " << line << "\n";
  }
  inject_test_fault(cfg.test_fault);
  // Last in the set-up, so that its errors (--epochs out of range) are settled too.
  const Budget budget = plan_budget(cfg, setup, data.train.size());
  // The machine's limits, as `psgd topo --measure` cached them under results/ of the working
  // directory (speed_of_light.hpp): read, never measured here. A cache that exists and is not
  // valid stops the run now, before training, with one line saying how to mend it. Not under
  // --backend mpi, whose document computes no fractions: a cache it would not use must not stop it.
  const std::string limits_path = machine_limits_path(
      "results", machine_limits_key(cpu_model_name(), place.topology.summary().cores));
  const std::optional<MachineLimits> limits =
      group != nullptr
          ? std::nullopt
          : load_machine_limits("results", cpu_model_name(), place.topology.summary().cores);
  shared_memory.emplace(place.memory);
  ranked.settle_setup(cfg, &data.train);  // every rank learns any rank's error here

  // From here on SIGINT and SIGTERM stop the run and keep what it measured (stop_signals.hpp);
  // before, while nothing is measured yet, they end it as they always did. Not across processes:
  // mpirun delivers them to every rank, which would stop at different updates and wait for each
  // other in a collective.
  std::optional<StopSignals> signals;
  if (group == nullptr) signals.emplace();
  if (speaks) {
    // Once every check has passed (a refused configuration stays one line), before training:
    // a run used to print nothing until it had trained and evaluated every snapshot (7.3 s for
    // a 3-second --time-limit run). An error of the environment from here on (a worker thread
    // the system refuses, a full disk) is one line after it.
    std::cerr << header_line(cfg.algorithm, model->spec(), data.name, std::to_string(cfg.threads),
                             roles, std::to_string(cfg.batch), json(cfg.step).dump())
              << "\n"
              << std::flush;
  }
  std::optional<ProgressPrinter> progress;
  if (speaks && progress_wanted(cfg.progress)) {
    progress.emplace(progress_budget(cfg, budget), stderr_is_terminal());
  }
  std::vector<ObservedSlot> observed;
  std::function<SharedMemory&(int node)> node_memory;
  if (place.numa.available) {
    node_memory = [&node_memories](int node) -> SharedMemory& {
      auto it = node_memories.find(node);
      if (it == node_memories.end()) {
        it = node_memories
                 .emplace(std::piecewise_construct, std::forward_as_tuple(node),
                          std::forward_as_tuple(MemoryPolicy{MemoryPolicyKind::kBind, node}))
                 .first;
      }
      return it->second;
    };
  }
  BasicTrainingOutcome<S> outcome = train(
      cfg, init, *algo, *model, data, place, budget, *shared_memory, observed, group, first_source,
      progress ? &*progress : nullptr, signals ? &StopSignals::request() : nullptr, node_memory);
  const PageNodeSample memory_observed = shared_memory->observed();  // the algorithm holds it
  json ranks =
      ranked.gather(observed, place.topology.summary(), outcome.workers, outcome.cpu_seconds);
  if (!speaks) return 0;

  RunFacts<S> facts;
  facts.config = &cfg;
  facts.data = data_record(data, cfg);
  facts.model = {model->spec(), std::string(activation_name(activation)), init_name(init),
                 std::string(scalar_type_name<S>()),
                 static_cast<std::int64_t>(model->num_params())};
  facts.algorithm = algo->report();
  facts.algorithm["name"] = std::string(algo->name());
  // Where the pages of each node-bound allocation are (`replicated`'s replicas), node by node.
  for (const auto& [node, memory] : node_memories) {
    facts.algorithm["node_memory_observed"][std::to_string(node)] = json(memory.observed());
  }
  facts.algorithm["roles"] = roles;
  // config.batch-order holds the order used; this says whether it was the method's default.
  facts.algorithm["batch_order_source"] = cfg.batch_order ? "--batch-order" : "method default";
  facts.peak_live_vectors = algo->peak_live_vectors();
  std::size_t shared_bytes = shared_memory->live_bytes();
  for (const auto& [node, memory] : node_memories) shared_bytes += memory.live_bytes();
  facts.shared_bytes = static_cast<std::int64_t>(shared_bytes);
  facts.placement = place.to_json(observed, &memory_observed);
  facts.oversubscribed = static_cast<std::size_t>(cfg.threads) > place.topology.pus().size();
  facts.updates_per_epoch = budget.per_epoch;
  facts.total_updates = budget.total;
  facts.budget = budget.record;
  facts.outcome = &outcome;
  if (progress) {
    // Evaluation can take longer than training (every snapshot on the whole training set).
    progress->note("training done (" + std::to_string(outcome.applied_updates) +
                   " updates); evaluating " +
                   std::to_string(filled_snapshots(*outcome.checkpoints)) + " snapshots");
  }
  evaluate_snapshots(facts, *model, data, cfg);
  RunRecord record = make_run_record(facts);
  // The GEMM this run's model ran on, not only the build's (run_context()): cnn and lenet run the
  // builtin kernel in a build whose mlp runs OpenBLAS, and thin products run Eigen's
  // (models/gemm.hpp).
  record.context["gemm"] = gemm_kernels(*model);
  if (record.context["gemm"].get<std::string>().find("openblas") == std::string::npos) {
    record.context["openblas_core"] = nullptr;
  }
  record.ranks = std::move(ranks);
  SpeedOfLightFacts light;
  light.algorithm = cfg.algorithm;
  light.threads = cfg.threads;
  light.params = model->num_params();
  light.scalar_bytes = sizeof(S);
  light.flops_per_sample = training_flops_per_sample(*model);
  light.batch = cfg.batch;
  light.samples = record.work ? record.work->samples.value_or(0) : 0;
  light.applied = outcome.applied_updates;
  light.wall_seconds = outcome.wall_seconds;
  light.totals = merge_workers(outcome.workers);
  // Under --backend mpi the samples are every rank's but the cores this machine's: no fractions
  // (its limits were not loaded, above).
  light.limits = limits ? &*limits : nullptr;
  light.limits_path = limits_path;
  record.speed_of_light = speed_of_light_json(light);
  if (group != nullptr) record.speed_of_light["reason"] = "not computed under --backend mpi";
  const int stopped_by = StopSignals::received();
  if (signals && stopped_by != 0) mark_stopped(record, stopped_by);
  const int code = write_outputs(cfg, record, [&] {
    save_params<S>(cfg.save_params, params_side_file(cfg.save_params), *model,
                   outcome.final_params);
  });
  return signals && stopped_by != 0 ? stopped_exit_code(stopped_by) : code;
}

// The checks before training are harness/run/preflight.hpp's, which the sweep's point check
// shares; they run in its order here, each where its inputs are known.
int run_checked(const RunConfig& cfg, std::vector<NamedPath> inputs) {
  for (std::string& file : dataset_files({cfg.dataset, cfg.data_dir, cfg.raw_pixels, cfg.seed})) {
    inputs.push_back({std::move(file), "data file"});
  }
  check_output_paths(cfg, inputs);
  const RunChoices choices = check_choices(cfg);
  RankedRun ranked(cfg);  // under --backend mpi: joins the ranks, and MPI_Finalize at the end
  try {
    return with_precision(cfg.precision, [&]<class S>() {
      return run_in_precision<S>(cfg, choices.activation, choices.init, ranked);
    });
  } catch (...) {
    return ranked.ended_by(std::current_exception());  // rethrows where this process reports
  }
}

// Every value of --NAME on the command line (--NAME V and --NAME=V), found before parsing.
std::vector<std::string> values_of(std::span<const std::string_view> args, std::string_view name) {
  const std::string flag = "--" + std::string(name);
  std::vector<std::string> values;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].starts_with(flag + "=")) values.emplace_back(args[i].substr(flag.size() + 1));
    if (args[i] == flag && i + 1 < args.size()) values.emplace_back(args[i + 1]);
  }
  return values;
}

// The files the command line reads that are known before it is parsed: every --config file, and
// every data file any data set could read from each --data-dir. An error document never goes
// over one of them, whatever else is wrong with the line.
std::vector<NamedPath> inputs_before_parsing(std::span<const std::string_view> args) {
  std::vector<NamedPath> inputs;
  for (std::string& file : values_of(args, "config"))
    inputs.push_back({std::move(file), "--config"});
  for (const std::string& dir : values_of(args, "data-dir")) {
    for (const char* name : {"idx", "cifar10"}) {
      for (std::string& file : dataset_files({name, dir, false, 1})) {
        inputs.push_back({std::move(file), "data file"});
      }
    }
  }
  return inputs;
}

bool names_an_input(const std::string& out, const std::vector<NamedPath>& inputs) {
  return std::ranges::any_of(inputs,
                             [&](const NamedPath& in) { return same_existing_file(out, in.path); });
}

// The document's argv: `psgd run` and its arguments as given.
std::vector<std::string> command_line(std::span<const std::string_view> args) {
  std::vector<std::string> argv = {"psgd", "run"};
  argv.insert(argv.end(), args.begin(), args.end());
  return argv;
}

}  // namespace

int run_main(std::span<const std::string_view> args) {
  for (const std::string_view a : args) {
    if (a == "--help" || a == "-h") {
      std::cout << run_help();
      return 0;
    }
  }
  // Find --out before parsing, so even a bad option leaves an error document where the caller
  // expects the result.
  std::string out = "-";
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i].rfind("--out=", 0) == 0) out = args[i].substr(6);
    if (args[i] == "--out" && i + 1 < args.size()) out = args[i + 1];
  }
  const std::vector<NamedPath> inputs = inputs_before_parsing(args);
  json config = nullptr;
  auto fail = [&](const char* kind, const std::exception& e, int code) {
    std::cerr << "psgd run: " << e.what() << "\n";
    if (out != "-" && !names_an_input(out, inputs)) {
      try {
        write_json(error_report(kind, e.what(), config, command_line(args)), out);
      } catch (const std::exception& w) {
        std::cerr << "psgd run: " << w.what() << "\n";
      }
    }
    return code;
  };
  try {
    RunConfig cfg = parse_run_args(args);
    if (std::ranges::find(args, std::string_view("--print-config")) != args.end()) {
      std::cout << config_template(cfg) << std::flush;
      return 0;
    }
    cfg.argv = command_line(args);
    config = config_to_json(cfg);
    return run_checked(cfg, inputs);
  } catch (const InputOverwriteError& e) {
    std::cerr << "psgd run: " << e.what() << "\n";  // no error document: that path is an input
    return kExitConfigError;
  } catch (const ConfigError& e) {
    return fail("config", e, kExitConfigError);
  } catch (const OutputPathError& e) {
    std::cerr << "psgd run: " << e.what() << "\n";  // no error document: that path failed
    return kExitEnvironmentError;
  } catch (const EnvironmentError& e) {
    return fail("environment", e, kExitEnvironmentError);
  } catch (const std::bad_alloc& e) {
    // What check_model_fits cannot foresee (a memory limit, other processes): still one line.
    return fail("environment",
                EnvironmentError("out of memory (std::bad_alloc): reduce the model, "
                                 "the data or --threads, or raise ulimit -v"),
                kExitEnvironmentError);
  }
}

}  // namespace psgd
