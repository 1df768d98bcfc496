// harness/test/local_slurm.hpp — a real single-host Slurm for end-to-end tests: Debian's munge
// and slurm-wlm (`make slurm-deps`), a munge key, a slurm.conf with this machine as the one node,
// and munged, slurmctld -D and slurmd -D as child processes, all under one temporary folder and
// on free ports, so that two tests can each run their own cluster at once and nothing of the
// machine's own configuration (/etc/slurm, /etc/munge) is read or changed.
//
// Clients (sbatch, squeue, and psgd, which runs them) find the cluster through SLURM_CONF, which
// the constructor sets in this process's environment. stop() cancels what is still queued and
// stops the daemons by PID (SIGTERM, then SIGKILL); the destructor calls it. The daemons also die
// with the test process (the children are spawned with PR_SET_PDEATHSIG).
//
// Not thread-safe: one test thread owns it.
#pragma once

#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "harness/sweep/child_process.hpp"
#include "harness/sweep/results.hpp"
#include "harness/sweep/slurm/query.hpp"

namespace psgd::testing {

class LocalSlurm {
 public:
  // The daemons start within a few seconds on an idle machine; a minute covers a loaded one.
  static constexpr double kStartSeconds = 60.0;

  // The cluster's folder is a new one under the system's temporary folder, with a short name:
  // munged's socket path must fit in 108 bytes.
  LocalSlurm() {
    std::string pattern = (std::filesystem::temp_directory_path() / "psgd-slurm.XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      skip_reason_ = "cannot create a folder for the cluster under " + pattern;
      return;
    }
    root_ = pattern;
    skip_reason_ = start();
    if (!skip_reason_.empty()) (void)stop();
  }
  LocalSlurm(const LocalSlurm&) = delete;
  LocalSlurm& operator=(const LocalSlurm&) = delete;
  ~LocalSlurm() {
    (void)stop();
    std::error_code ec;
    if (!root_.empty()) std::filesystem::remove_all(root_, ec);
  }

  // Why the cluster could not start (the test skips with it), or "" when it runs.
  [[nodiscard]] const std::string& skip_reason() const { return skip_reason_; }
  [[nodiscard]] const std::string& node() const { return node_; }

  // Cancels every job of this cluster, waits for the queue to empty, then stops slurmd,
  // slurmctld and munged by PID. Returns "" when every daemon ended, else what did not.
  std::string stop() {
    if (daemons_.empty()) return "";
    if (skip_reason_.empty()) {
      (void)run_command({"scancel", "--user=root"}, 30);
      (void)wait_until([] { return queue_empty(); }, 30);
    }
    std::string problems;
    for (auto it = daemons_.rbegin(); it != daemons_.rend(); ++it) {
      ChildProcess& d = *it->second;
      if (d.pid() <= 0 || d.poll().has_value()) continue;  // already ended and reaped
      kill(d.pid(), SIGTERM);
      const bool ended = wait_until([&d] { return d.poll().has_value(); }, 10);
      if (!ended) {
        problems += it->first + " ignored SIGTERM; ";
        (void)d.kill_now();
      }
    }
    daemons_.clear();
    return problems;
  }

  // The tail of every daemon's log, for a failure message.
  [[nodiscard]] std::string logs() const {
    std::string s;
    for (const char* name : {"munged.log", "slurmctld.log", "slurmd.log", "munged.out",
                             "slurmctld.out", "slurmd.out"}) {
      s += std::string("---- ") + name + "\n" + read_tail((root_ / "log" / name).string(), 2000);
    }
    return s;
  }

  // Polls `done` every 50 ms for up to `seconds`; true once it holds.
  template <class F>
  static bool wait_until(F done, double seconds) {
    const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return done();
  }

  static bool queue_empty() {
    const CommandResult r = run_command({"squeue", "-h", "-o", "%i"}, 30);
    return r.exit_code == 0 && r.out.find_first_not_of(" \n") == std::string::npos;
  }

 private:
  static int free_port() {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    int port = -1;
    if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port = ntohs(addr.sin_port);
    }
    close(fd);
    return port;
  }

  static std::string missing_program() {
    for (const char* p : {"/usr/sbin/munged", "/usr/sbin/slurmctld", "/usr/sbin/slurmd"}) {
      if (access(p, X_OK) != 0) return p;
    }
    const char* path = std::getenv("PATH");
    for (const char* p : {"sbatch", "squeue", "scancel", "scontrol", "sinfo"}) {
      bool found = false;
      std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
      for (std::size_t b = 0; !found && b <= dirs.size();) {
        const std::size_t e = std::min(dirs.find(':', b), dirs.size());
        found = access((dirs.substr(b, e - b) + "/" + p).c_str(), X_OK) == 0;
        b = e + 1;
      }
      if (!found) return p;
    }
    return "";
  }

  // The key munged shares with every client: 1 KiB of random bytes, readable by its owner only.
  void write_munge_key(const std::filesystem::path& path) {
    std::random_device rd;
    std::ofstream out(path, std::ios::binary);
    for (int i = 0; i < 1024; ++i) out.put(static_cast<char>(rd() & 0xff));
    out.close();
    chmod(path.c_str(), 0400);
  }

  void write_conf(int ctld_port, int slurmd_port) {
    cpu_set_t set;
    CPU_ZERO(&set);
    const int cpus = sched_getaffinity(0, sizeof set, &set) == 0 ? CPU_COUNT(&set) : 1;  // nproc
    const std::string r = root_.string();
    std::ofstream(conf_) << "ClusterName=psgdtest\n"
                         << "SlurmctldHost=" << node_ << "(127.0.0.1)\n"
                         << "SlurmctldPort=" << ctld_port << "\nSlurmdPort=" << slurmd_port << "\n"
                         << "SlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\n"
                         << "AuthInfo=socket=" << r << "/munge/munge.socket\n"
                         << "StateSaveLocation=" << r << "/state\nSlurmdSpoolDir=" << r
                         << "/spool\nSlurmctldPidFile=" << r << "/slurmctld.pid\n"
                         << "SlurmdPidFile=" << r << "/slurmd.pid\n"
                         << "SlurmctldLogFile=" << r << "/log/slurmctld.log\n"
                         << "SlurmdLogFile=" << r << "/log/slurmd.log\n"
                         << "ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\n"
                         << "SelectType=select/cons_tres\nSelectTypeParameters=CR_CPU\n"
                         << "SchedulerType=sched/builtin\nJobAcctGatherType=jobacct_gather/none\n"
                         << "AccountingStorageType=accounting_storage/none\nMpiDefault=none\n"
                         << "ReturnToService=2\nKillWait=5\nMinJobAge=300\n"
                         << "NodeName=" << node_ << " NodeAddr=127.0.0.1 CPUs=" << cpus
                         << " State=UNKNOWN\n"
                         << "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP\n";
  }

  void spawn(const std::string& name, const std::vector<std::string>& argv) {
    daemons_.emplace_back(name, std::make_unique<ChildProcess>(
                                    argv, (root_ / "log" / (name + ".out")).string(), 3600));
  }

  // False once a daemon has exited (it is then reaped and its log says why).
  bool running() {
    for (auto& [name, d] : daemons_) {
      if (d->pid() <= 0 || d->poll().has_value()) return false;
    }
    return true;
  }

  // Returns "" once the node is idle, else why the cluster cannot run here.
  std::string start() {
    if (geteuid() != 0) return "a local Slurm here runs its daemons as root (SlurmUser=root)";
    if (const std::string p = missing_program(); !p.empty()) {
      return p + " is not installed: `make slurm-deps` installs slurm-wlm and munge";
    }
    namespace fs = std::filesystem;
    for (const char* d : {"state", "spool", "log", "munge"}) fs::create_directories(root_ / d);
    // munged requires every folder above its socket to be searchable by everyone (mkdtemp
    // makes the root 0700), and the socket's own folder writable by its owner only.
    fs::permissions(root_, fs::perms(0755));
    fs::permissions(root_ / "munge", fs::perms(0755));
    char host[256] = {};
    gethostname(host, sizeof host - 1);
    node_ = std::string(host).substr(0, std::string(host).find('.'));  // hostname -s
    conf_ = (root_ / "slurm.conf").string();
    write_munge_key(root_ / "munge" / "munge.key");
    const int ctld_port = free_port();
    const int slurmd_port = free_port();
    if (ctld_port <= 0 || slurmd_port <= 0) return "no free TCP port on 127.0.0.1";
    write_conf(ctld_port, slurmd_port);
    setenv("SLURM_CONF", conf_.c_str(), 1);
    const std::string m = (root_ / "munge").string();
    spawn("munged",
          {"/usr/sbin/munged", "-F", "--socket=" + m + "/munge.socket",
           "--key-file=" + m + "/munge.key", "--pid-file=" + m + "/munged.pid",
           "--seed-file=" + m + "/seed", "--log-file=" + (root_ / "log").string() + "/munged.log"});
    if (!wait_until([&] { return !running() || fs::exists(m + "/munge.socket"); }, kStartSeconds) ||
        !running()) {
      return "munged did not start:\n" + logs();
    }
    spawn("slurmctld", {"/usr/sbin/slurmctld", "-D", "-f", conf_});
    spawn("slurmd", {"/usr/sbin/slurmd", "-D", "-f", conf_});
    const bool idle = wait_until(
        [this] {
          if (!running()) return true;
          const CommandResult r = run_command({"sinfo", "-h", "-o", "%T"}, 30);
          return r.exit_code == 0 && r.out.find("idle") != std::string::npos;
        },
        kStartSeconds);
    if (!idle || !running()) return "slurmctld and slurmd did not bring the node up:\n" + logs();
    return "";
  }

  std::filesystem::path root_;
  std::string conf_;
  std::string node_;
  std::string skip_reason_;
  std::vector<std::pair<std::string, std::unique_ptr<ChildProcess>>> daemons_;
};

}  // namespace psgd::testing
