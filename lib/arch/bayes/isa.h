// The simulated "bayes" BPU instruction set: typed instructions and their binary encoding, expanded from the
// single declaration in isa_table.h. Lowering encodes, the .bin stores the bytes, the simulator decodes;
// docs/isa.md specifies every field's meaning.
// Each record: u16 opcode, u16 word_count, u32 source_node (index into the segment's node-name table),
// then word_count little-endian 32-bit words. 64-bit fields take two words, low word first.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "arch/bayes/isa_table.h"

namespace bpu::bayes {

// Generated from the opcode table (isa_table.h): Opcode::Conv2d = 0x0001, ...
enum class Opcode : uint16_t {
#define BPU_ISA_ENUMERATOR(Name, code, mnemonic, FIELDS) Name = code,
  BPU_ISA_OPCODES(BPU_ISA_ENUMERATOR)
#undef BPU_ISA_ENUMERATOR
};

// Mnemonic of an opcode ("CONV2D"); "?" for a value outside the table.
const char* opcode_name(Opcode op);

// Field kinds (isa_table.h says how each is encoded) and the C++ type of a field of each kind.
enum class FieldKind { BufIn, BufOut, U32, I32, I64, ListU32, ListI32, Records };
template <FieldKind K>
using Kind = std::integral_constant<FieldKind, K>;
template <FieldKind K>
struct FieldTraits {
  using type = std::conditional_t<K == FieldKind::I32, int32_t, std::conditional_t<K == FieldKind::I64, int64_t, uint32_t>>;
};
template <>
struct FieldTraits<FieldKind::ListU32> {
  using type = std::vector<uint32_t>;
};
template <>
struct FieldTraits<FieldKind::ListI32> {
  using type = std::vector<int32_t>;
};

// Members from a field list, and for_each_field(self, visit) calling visit(Kind<kind>{}, "name", self.name) for
// every field in encoding order (self const or not).
#define BPU_ISA_MEMBER(kind, name, init) typename FieldTraits<FieldKind::kind>::type name = init;
#define BPU_ISA_VISIT_MEMBER(kind, name, init) visit(Kind<FieldKind::kind>{}, #name, self.name);
#define BPU_ISA_MEMBERS(FIELDS)                             \
  FIELDS(BPU_ISA_MEMBER)                                    \
  template <typename Self, typename Visit>                  \
  static void for_each_field(Self& self, Visit&& visit) {   \
    FIELDS(BPU_ISA_VISIT_MEMBER)                            \
  }

struct ConcatInput {
  BPU_ISA_MEMBERS(BPU_ISA_FIELDS_CONCAT_INPUT)
};
template <>
struct FieldTraits<FieldKind::Records> {
  using type = std::vector<ConcatInput>;
};

// One struct per opcode, e.g. struct Conv2d { uint32_t input = 0; ...; int32_t clamp_hi = 0; }, with its
// opcode and mnemonic.
#define BPU_ISA_STRUCT(Name, code, mnemonic, FIELDS)       \
  struct Name {                                            \
    static constexpr Opcode kOpcode = Opcode::Name;        \
    static constexpr const char* kMnemonic = mnemonic;     \
    BPU_ISA_MEMBERS(FIELDS)                                \
  };
BPU_ISA_OPCODES(BPU_ISA_STRUCT)
#undef BPU_ISA_STRUCT
#undef BPU_ISA_MEMBERS
#undef BPU_ISA_VISIT_MEMBER
#undef BPU_ISA_MEMBER

// Body = std::variant<Conv2d, Add, ...> in table order.
template <typename Ignored, typename... Ts>
struct VariantOfRest {
  using type = std::variant<Ts...>;
};
#define BPU_ISA_ALTERNATIVE(Name, code, mnemonic, FIELDS) , Name
using Body = VariantOfRest<void BPU_ISA_OPCODES(BPU_ISA_ALTERNATIVE)>::type;
#undef BPU_ISA_ALTERNATIVE

struct Instruction {
  Opcode opcode = Opcode::Conv2d;
  uint32_t source_node = 0;
  Body body;
};

constexpr size_t kRequantRecordBytes = 16;
constexpr size_t kPreprocessRecordBytes = 24;  // PREPROCESS: {i32 m0, m1, m2, i32 0, i64 bias}
constexpr int kBilinearWeightBits = 15;
constexpr uint32_t kMaxConcatInputs = 1024;
constexpr uint32_t kMaxRankWords = 8;

Opcode opcode_of(const Body& body);

// The buffer ids an instruction reads and the ones it writes (memory planning, cost model, simulator trace).
void buffer_operands(const Body& body, std::vector<uint32_t>* inputs, std::vector<uint32_t>* outputs);

// Every field as "name=value" separated by spaces, in encoding order (disassembly); `buffer` renders a buffer id,
// lists print as [a,b], CONCAT's records as [{buffer=.. mult=.. shift=..},...].
std::string format_fields(const Body& body, const std::function<std::string(uint32_t)>& buffer);

// The opcode table of docs/isa.md (code, mnemonic, word count, operands in order), generated from isa_table.h.
std::string isa_opcode_table_markdown();

std::vector<uint8_t> encode_program(const std::vector<Instruction>& program);

// Structural decode; throws Error(Artifact) naming `context` on an unknown opcode, a wrong word count or a
// truncated record. Semantic checks against buffers live in the runtime's validator.
std::vector<Instruction> decode_program(const uint8_t* data, size_t size, const std::string& context);

// Largest on-chip SRAM window a segment's memory map may have (the planner caps bpu_sram_kib to it).
constexpr uint64_t kMaxSramBytes = uint64_t(64) << 20;

// Maximum instructions per segment accepted by the decoder.
constexpr size_t kMaxInstructions = 1 << 20;

}  // namespace bpu::bayes
