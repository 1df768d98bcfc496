// harness/test/speed_of_light_test.cpp — the machine limits' cache (key, sizes, refusal of a bad
// file) and the run's speed_of_light block computed from known limits
// (harness/machine/machine_limits.hpp, harness/run/speed_of_light.hpp).
#include "harness/run/speed_of_light.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "common/errors.hpp"
#include "harness/machine/machine_limits.hpp"
#include "harness/test/test_support.hpp"
#include "models/gemm.hpp"

namespace psgd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

MachineLimits known_limits() {
  MachineLimits m;
  m.cpu_model = "Test CPU (R) @ 2.0GHz";
  m.cores = 2;
  m.date = "2026-12-06T00:00:00Z";
  m.gemm_flops_per_core = 50e9;
  m.bandwidth = {{1 << 20, 40e9, 45e9, 80e9, 90e9}, {64 << 20, 10e9, 12e9, 15e9, std::nullopt}};
  return m;
}

TEST(MachineLimits, KeyNamesTheCpuModelTheCoresAndTheGemmKernels) {
  const std::string gemm = limits_gemm_kernels();
  EXPECT_EQ(gemm.substr(0, gemm.find('_')),
            detail::gemm_kernel_name(detail::builtin_gemm_kernel()));
  EXPECT_EQ(machine_limits_key("AMD EPYC", 2), "AMD_EPYC-2cores-" + gemm);
  EXPECT_EQ(machine_limits_key("Intel(R) Xeon(R) Gold 6248 CPU @ 2.50GHz", 40),
            "Intel_R_Xeon_R_Gold_6248_CPU_2_50GHz-40cores-" + gemm);
  EXPECT_EQ(machine_limits_key("", 1), "unknown-1cores-" + gemm);
  EXPECT_NE(machine_limits_key("AMD EPYC", 2), machine_limits_key("AMD EPYC", 4));
  EXPECT_EQ(machine_limits_path("results", "K"), "results/machines/K.json");
}

TEST(MachineLimits, SizesReachPastTheLastLevelCache) {
  const std::vector<std::uint64_t> sizes = bandwidth_sizes(32ULL << 20);
  ASSERT_FALSE(sizes.empty());
  EXPECT_EQ(sizes.front(), 64ULL << 10);
  EXPECT_GE(sizes.back(), 64ULL << 20);
  EXPECT_LT(sizes[sizes.size() - 2], 64ULL << 20) << "one size past twice the cache, not more";
  EXPECT_GE(bandwidth_sizes(std::nullopt).back(), 64ULL << 20);
}

TEST(MachineLimits, RoundTripsThroughItsJson) {
  const MachineLimits m = known_limits();
  const MachineLimits back =
      parse_machine_limits(machine_limits_json(m), "x.json", machine_limits_key(m.cpu_model, 2));
  EXPECT_EQ(back.cpu_model, m.cpu_model);
  EXPECT_DOUBLE_EQ(back.gemm_flops_per_core, 50e9);
  ASSERT_EQ(back.bandwidth.size(), 2U);
  EXPECT_FALSE(back.bandwidth[1].triad_all_cores.has_value());
  EXPECT_EQ(bandwidth_at(back, 1000).bytes, 1U << 20);
  EXPECT_EQ(bandwidth_at(back, (1U << 20) + 1).bytes, 64U << 20);
  EXPECT_EQ(bandwidth_at(back, 1ULL << 40).bytes, 64U << 20) << "past the largest: the largest";
}

// Each defect is refused with one line that names the file and how to mend it.
TEST(MachineLimits, RefusesABadCacheFile) {
  const MachineLimits m = known_limits();
  const std::string key = machine_limits_key(m.cpu_model, m.cores);
  auto refusal = [&](const nlohmann::json& doc) {
    try {
      parse_machine_limits(doc, "results/machines/K.json", key);
    } catch (const EnvironmentError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  nlohmann::json other_format = machine_limits_json(m);
  other_format["format"] = "something else";
  nlohmann::json zero_gemm = machine_limits_json(m);
  zero_gemm["gemm"]["flops_per_core"] = 0;
  nlohmann::json no_points = machine_limits_json(m);
  no_points["bandwidth"] = nlohmann::json::array();
  nlohmann::json other_machine = machine_limits_json(m);
  other_machine["cores"] = 64;
  nlohmann::json descending = machine_limits_json(m);
  std::swap(descending["bandwidth"][0], descending["bandwidth"][1]);
  // Fields of the wrong type: refused like the rest, never with nlohmann's own exception text.
  nlohmann::json numeric_format = machine_limits_json(m);
  numeric_format["format"] = 1;
  nlohmann::json null_date = machine_limits_json(m);
  null_date["date"] = nullptr;
  nlohmann::json text_seconds = machine_limits_json(m);
  text_seconds["seconds_per_kernel"] = "0.2";
  nlohmann::json huge_size = machine_limits_json(m);
  huge_size["bandwidth"][0]["bytes"] = 1e300;
  for (const nlohmann::json& doc :
       {nlohmann::json(42), other_format, zero_gemm, no_points, other_machine, descending,
        numeric_format, null_date, text_seconds, huge_size}) {
    const std::string message = refusal(doc);
    ASSERT_FALSE(message.empty()) << doc.dump();
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    EXPECT_THAT(message, HasSubstr("results/machines/K.json"));
    EXPECT_THAT(message, HasSubstr("psgd topo --measure"));
  }
  EXPECT_THAT(refusal(other_machine), HasSubstr("another machine"));
}

TEST(MachineLimits, LoadsNothingWhenNoneIsCachedAndRefusesBrokenJson) {
  const std::filesystem::path dir = test::scratch_dir("psgd_machine_limits");
  EXPECT_FALSE(load_machine_limits(dir.string(), "AMD EPYC", 2).has_value());
  std::filesystem::create_directories(dir / "machines");
  // A cache of another GEMM kernel (or of the keys before they named one) is another file.
  test::write_text(dir / "machines" / "AMD_EPYC-2cores.json", "{ not json");
  EXPECT_FALSE(load_machine_limits(dir.string(), "AMD EPYC", 2).has_value());
  test::write_text(dir / "machines" / (machine_limits_key("AMD EPYC", 2) + ".json"), "{ not json");
  EXPECT_THROW(load_machine_limits(dir.string(), "AMD EPYC", 2), EnvironmentError);
}

TEST(SpeedOfLight, TrafficTableCountsEachMethodsCopiesApplyAndPublish) {
  EXPECT_DOUBLE_EQ(*parameter_bytes_per_update("mutex", 1000, 4), 5 * 4000.0);
  EXPECT_DOUBLE_EQ(*parameter_bytes_per_update("hogwild", 1000, 8), 5 * 8000.0);
  EXPECT_DOUBLE_EQ(*parameter_bytes_per_update("seq", 1000, 4), 3 * 4000.0);
  EXPECT_DOUBLE_EQ(*parameter_bytes_per_update("leashed", 1000, 4), 3 * 4000.0 + 8);
  EXPECT_FALSE(parameter_bytes_per_update("sync", 1000, 4).has_value());
}

SpeedOfLightFacts mutex_facts() {
  SpeedOfLightFacts f;
  f.algorithm = "mutex";
  f.threads = 2;
  f.params = 1000;
  f.flops_per_sample = 1e6;
  f.batch = 10;
  f.samples = 20000;  // 2e10 FLOPs
  f.applied = 2000;
  f.wall_seconds = 1.0;
  f.totals.timed_updates = 2000;
  f.totals.read_section_seconds = 0.2;
  f.totals.gradient_seconds = 1.6;
  f.totals.apply_section_seconds = 0.2;
  f.limits_path = "results/machines/K.json";
  return f;
}

TEST(SpeedOfLight, NullFractionsWithAReasonWithoutACache) {
  const nlohmann::json b = speed_of_light_json(mutex_facts());
  EXPECT_TRUE(b["gemm_fraction"].is_null());
  EXPECT_TRUE(b["bandwidth_fraction"].is_null());
  EXPECT_THAT(b["reason"].get<std::string>(), HasSubstr("results/machines/K.json"));
  EXPECT_DOUBLE_EQ(b["flops_per_gradient"].get<double>(), 1e7);
  EXPECT_THAT(speed_of_light_text(b), HasSubstr("fractions unknown"));
}

TEST(SpeedOfLight, FractionsOfTheCachedLimits) {
  const MachineLimits m = known_limits();
  SpeedOfLightFacts f = mutex_facts();
  f.limits = &m;
  const nlohmann::json b = speed_of_light_json(f);
  // 2e10 FLOPs in 1 s on 2 cores of 50 GFLOP/s.
  EXPECT_DOUBLE_EQ(b["gemm_fraction"].get<double>(), 0.2);
  // 2000 updates x 5 x 4000 bytes in 1 s, against 2 cores' copy at 1 MiB (the vector's 4000
  // bytes fit the smallest size): one core's 40e9 x 2, at most all cores' 80e9: 4e7 / 80e9.
  EXPECT_DOUBLE_EQ(b["bandwidth_fraction"].get<double>(), 4e7 / 80e9);
  EXPECT_EQ(b["machine"]["copy_cores"], 2);
  EXPECT_TRUE(b["reason"].is_null());
  f.threads = 1;
  EXPECT_EQ(speed_of_light_json(f)["machine"]["copy_cores"], 1);
  EXPECT_DOUBLE_EQ(speed_of_light_json(f)["bandwidth_fraction"].get<double>(), 4e7 / 40e9);
  EXPECT_EQ(speed_of_light_json(f)["machine"]["gemm_cores"], 1);
}

// On a machine of many cores a run of a few threads is held to what those threads can move (one
// core's rate times the threads), not to all cores' rate; and where the all-cores point was
// skipped (too large for memory), several threads are held to one core's rate times their count.
TEST(SpeedOfLight, TheCopyRateScalesWithTheThreadsUpToAllCores) {
  MachineLimits m = known_limits();
  m.cores = 64;
  m.bandwidth = {{1 << 20, 10e9, 12e9, 200e9, 220e9},
                 {64 << 20, 5e9, 6e9, std::nullopt, std::nullopt}};
  SpeedOfLightFacts f = mutex_facts();
  f.limits = &m;
  f.threads = 2;
  nlohmann::json b = speed_of_light_json(f);
  EXPECT_DOUBLE_EQ(b["machine"]["copy_bytes_per_second"].get<double>(), 20e9);
  EXPECT_EQ(b["machine"]["copy_cores"], 2);
  f.threads = 128;  // oversubscribed: every core, capped at all cores' measured rate
  b = speed_of_light_json(f);
  EXPECT_DOUBLE_EQ(b["machine"]["copy_bytes_per_second"].get<double>(), 200e9);
  EXPECT_EQ(b["machine"]["copy_cores"], 64);
}

// mutex: both sections are serial, so the bound is (0.1 + 0.8 + 0.1) / (0.1 + 0.1) ms = 5; the
// run did 2000 updates of 1 ms of one thread's work in 1 s: a measured speed-up of 2.
TEST(SpeedOfLight, CriticalSectionBoundOfTheLockMethodsOnly) {
  const nlohmann::json cs = speed_of_light_json(mutex_facts())["critical_section"];
  ASSERT_TRUE(cs.is_object());
  EXPECT_NEAR(cs["speedup_bound"].get<double>(), 5.0, 1e-12);
  EXPECT_NEAR(cs["speedup_measured"].get<double>(), 2.0, 1e-12);
  SpeedOfLightFacts rw = mutex_facts();
  rw.algorithm = "rwlock";  // readers overlap: the apply section alone is serial
  EXPECT_NEAR(speed_of_light_json(rw)["critical_section"]["speedup_bound"].get<double>(), 10.0,
              1e-12);
  SpeedOfLightFacts lock_free = mutex_facts();
  lock_free.algorithm = "leashed";
  EXPECT_TRUE(speed_of_light_json(lock_free)["critical_section"].is_null());
  EXPECT_THAT(speed_of_light_text(speed_of_light_json(mutex_facts())), HasSubstr("bound 5.0"));
}

// Every timed method reports its split per update; mutex at 0.1 + 0.8 + 0.1 ms over 2000 updates
// holds 2 s of the 2 threads x 1 s. The HOGWILD! methods have the split but no critical section;
// leashed neither.
TEST(SpeedOfLight, UpdateSplitOfTheTimedMethodsOnly) {
  const nlohmann::json split = speed_of_light_json(mutex_facts())["update_split"];
  ASSERT_TRUE(split.is_object());
  EXPECT_NEAR(split["read_seconds_per_update"].get<double>(), 1e-4, 1e-15);
  EXPECT_NEAR(split["gradient_seconds_per_update"].get<double>(), 8e-4, 1e-15);
  EXPECT_NEAR(split["apply_seconds_per_update"].get<double>(), 1e-4, 1e-15);
  EXPECT_NEAR(split["accounted_fraction"].get<double>(), 1.0, 1e-12);
  EXPECT_EQ(split["timed_updates"], 2000);
  for (const char* racy : {"hogwild", "hogwild-atomic"}) {
    SpeedOfLightFacts f = mutex_facts();
    f.algorithm = racy;
    f.wall_seconds = 4.0;  // the parts hold 2 s of 2 threads x 4 s
    const nlohmann::json b = speed_of_light_json(f);
    ASSERT_TRUE(b["update_split"].is_object()) << racy;
    EXPECT_NEAR(b["update_split"]["accounted_fraction"].get<double>(), 0.25, 1e-12) << racy;
    EXPECT_THAT(b["update_split"]["timed"].get<std::string>(), HasSubstr("racy copy")) << racy;
    EXPECT_TRUE(b["critical_section"].is_null()) << racy << " takes no lock";
    EXPECT_THAT(speed_of_light_text(b),
                HasSubstr("update read 100.0 + gradient 800.0 + apply 100.0 us (0.25 of worker"));
  }
  SpeedOfLightFacts untimed = mutex_facts();
  untimed.algorithm = "hogwild";
  untimed.totals.timed_updates = 0;
  EXPECT_TRUE(speed_of_light_json(untimed)["update_split"].is_null());
  SpeedOfLightFacts lock_free = mutex_facts();
  lock_free.algorithm = "leashed";
  EXPECT_TRUE(speed_of_light_json(lock_free)["update_split"].is_null());
  EXPECT_THAT(speed_of_light_text(speed_of_light_json(lock_free)), Not(HasSubstr("update read")));
}

}  // namespace
}  // namespace psgd
