// Walks the ISA table (lib/arch/bayes/isa_table.h) opcode by opcode: every opcode has its name, a sample
// instruction with every field set to a distinct value encodes and decodes back to the same fields, the
// disassembly lists every field, the decoder refuses a record of the wrong length, and docs/isa.md carries the
// opcode table generated from the declaration.

#include <type_traits>
#include <fstream>
#include <set>
#include <sstream>

#include "arch/bayes/isa.h"
#include "test_helpers.h"

using namespace bpu;
using namespace bpu::bayes;
using bpu::test::require_error;

namespace {

// Sets every field to a distinct value: buffers and u32 fields count up, signed fields are negative, i64 fields
// use both words, lists get two entries.
struct SampleFiller {
  uint32_t next = 1;
  template <FieldKind K, typename T>
  void operator()(Kind<K>, const char*, T& v) {
    if constexpr (K == FieldKind::Records) {
      v.resize(2);
      for (auto& e : v) T::value_type::for_each_field(e, *this);
    } else if constexpr (K == FieldKind::ListU32) {
      v = {next, next + 1};
      next += 2;
    } else if constexpr (K == FieldKind::ListI32) {
      v = {-static_cast<int32_t>(next), static_cast<int32_t>(next + 1)};
      next += 2;
    } else if constexpr (K == FieldKind::I64) {
      v = -(static_cast<int64_t>(next++) << 33) - 5;
    } else if constexpr (K == FieldKind::I32) {
      v = -static_cast<int32_t>(next++);
    } else {
      v = next++;
    }
  }
};

// Every field name, records' fields included.
struct NameCollector {
  std::vector<std::string> names;
  template <FieldKind K, typename T>
  void operator()(Kind<K>, const char* name, const T& v) {
    names.push_back(name);
    if constexpr (K == FieldKind::Records) {
      if (!v.empty()) T::value_type::for_each_field(v[0], *this);
    }
  }
};

std::string buffer_text(uint32_t id) { return "#" + std::to_string(id); }

template <typename F, size_t... I>
void for_each_opcode(F&& f, std::index_sequence<I...>) {
  (f(std::variant_alternative_t<I, Body>{}), ...);
}

template <typename F>
void for_each_opcode(F&& f) {
  for_each_opcode(f, std::make_index_sequence<std::variant_size_v<Body>>{});
}

uint16_t u16_at(const std::vector<uint8_t>& b, size_t at) { return static_cast<uint16_t>(b[at] | (b[at + 1] << 8)); }

}  // namespace

TEST_CASE("isa: every opcode has a name and round-trips a sample instruction", "[isa]") {
  std::set<std::string> mnemonics;
  std::set<int> codes;
  size_t opcodes = 0;
  for_each_opcode([&](auto sample) {
    using T = decltype(sample);
    INFO(T::kMnemonic);
    ++opcodes;
    CHECK(std::string(opcode_name(T::kOpcode)) == T::kMnemonic);
    CHECK(mnemonics.insert(T::kMnemonic).second);
    CHECK(codes.insert(static_cast<int>(T::kOpcode)).second);
    SampleFiller filler;
    T::for_each_field(sample, filler);
    Instruction ins{T::kOpcode, 7, sample};
    CHECK(opcode_of(ins.body) == T::kOpcode);

    const std::vector<uint8_t> bytes = encode_program({ins});
    REQUIRE(bytes.size() >= 8);
    CHECK(u16_at(bytes, 0) == static_cast<uint16_t>(T::kOpcode));
    CHECK(u16_at(bytes, 2) * 4u + 8u == bytes.size());
    const std::vector<Instruction> back = decode_program(bytes.data(), bytes.size(), "sample");
    REQUIRE(back.size() == 1);
    CHECK(back[0].opcode == T::kOpcode);
    CHECK(back[0].source_node == 7);
    REQUIRE(std::holds_alternative<T>(back[0].body));
    const std::string listing = format_fields(ins.body, buffer_text);
    CHECK(format_fields(back[0].body, buffer_text) == listing);
    CHECK(encode_program(back) == bytes);

    // The disassembly names every field; buffers go through the buffer formatter.
    NameCollector names;
    T::for_each_field(sample, names);
    for (const auto& n : names.names) CHECK(listing.find(n + "=") != std::string::npos);
    std::vector<uint32_t> reads, writes;
    buffer_operands(ins.body, &reads, &writes);
    CHECK(reads.empty() == std::is_same_v<T, Const>);  // CONST alone reads the constant pool, not a buffer
    CHECK(!writes.empty());
    for (uint32_t id : reads) CHECK(listing.find("=#" + std::to_string(id)) != std::string::npos);
    for (uint32_t id : writes) CHECK(listing.find("=#" + std::to_string(id)) != std::string::npos);

    // A record one word short or one word long is refused naming the opcode.
    std::vector<uint8_t> shorter = bytes;
    shorter[2] = static_cast<uint8_t>(shorter[2] - 1);
    shorter.resize(shorter.size() - 4);
    require_error([&] { decode_program(shorter.data(), shorter.size(), "short"); }, ExitCode::Artifact, T::kMnemonic);
    std::vector<uint8_t> longer = bytes;
    longer[2] = static_cast<uint8_t>(longer[2] + 1);
    longer.insert(longer.end(), {0, 0, 0, 0});
    require_error([&] { decode_program(longer.data(), longer.size(), "long"); }, ExitCode::Artifact, T::kMnemonic);
  });
  CHECK(opcodes == std::variant_size_v<Body>);
}

TEST_CASE("isa: the decoder bounds list lengths and refuses unknown opcodes", "[isa]") {
  std::vector<uint8_t> unknown = {0x77, 0x77, 0, 0, 0, 0, 0, 0};
  require_error([&] { decode_program(unknown.data(), unknown.size(), "unknown"); }, ExitCode::Artifact, "unknown opcode 30583");
  Transpose t{0, 1, std::vector<uint32_t>(kMaxRankWords + 1, 0)};
  std::vector<uint8_t> wide = encode_program({{Opcode::Transpose, 0, t}});
  require_error([&] { decode_program(wide.data(), wide.size(), "wide"); }, ExitCode::Artifact, "TRANSPOSE rank 9 is above 8");
  Concat empty{1, 0, {}};
  std::vector<uint8_t> none = encode_program({{Opcode::Concat, 0, empty}});
  require_error([&] { decode_program(none.data(), none.size(), "none"); }, ExitCode::Artifact, "CONCAT record with 0 inputs");
  // Lists of one instruction share their length word, so they must agree.
  Slice uneven{0, 1, {0, 0}, {1}};
  require_error([&] { encode_program({{Opcode::Slice, 0, uneven}}); }, ExitCode::Internal, "SLICE list 'steps' has 1 entries");
}

TEST_CASE("isa: docs/isa.md carries the opcode table generated from the declaration", "[isa][docs]") {
  std::ifstream f(std::string(BPU_SOURCE_DIR) + "/docs/isa.md");
  REQUIRE(f);
  std::stringstream docs;
  docs << f.rdbuf();
  INFO("regenerate the table in docs/isa.md from bpu::bayes::isa_opcode_table_markdown():\n" << isa_opcode_table_markdown());
  CHECK(docs.str().find(isa_opcode_table_markdown()) != std::string::npos);
}
