// Replays every fuzz finding committed under test/data/fuzz_regressions/{onnx,config,bin}/ through the same
// harness as the libFuzzer targets (fuzz/fuzz_harness.cpp). Each file must be refused with a bpu::Error (a file
// named ok-* must be accepted); a crash, a sanitizer report or another exception fails the test.

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "fuzz/fuzz_harness.h"
#include "test_helpers.h"

namespace {

using Runner = bpu::fuzz::Outcome (*)(const uint8_t*, size_t);

bpu::fuzz::Outcome run_bin_fixed(const uint8_t* data, size_t size) { return bpu::fuzz::run_bin(data, size, true); }

int replay(const std::string& folder, Runner run) {
  int count = 0;
  const std::filesystem::path dir = bpu::test::data_path("fuzz_regressions/" + folder);
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (!entry.is_regular_file() || entry.path().filename().string()[0] == '.') continue;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string name = entry.path().filename().string();
    INFO(folder << "/" << name);
    bpu::fuzz::Outcome o = run(bytes.data(), bytes.size());
    INFO("outcome: " << (o.accepted ? "accepted" : o.message));
    CHECK(o.accepted == (name.rfind("ok-", 0) == 0));
    ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("fuzz regressions: ONNX models", "[fuzz]") {
  bpu::fuzz::quiet_logging();
  CHECK(replay("onnx", bpu::fuzz::run_onnx) > 0);
}

TEST_CASE("fuzz regressions: configs", "[fuzz]") { replay("config", bpu::fuzz::run_config); }

TEST_CASE("fuzz regressions: .bin files", "[fuzz]") { replay("bin", run_bin_fixed); }
