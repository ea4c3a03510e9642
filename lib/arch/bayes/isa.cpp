// Binary encoding, decoding, operand lists and field formatting of bayes instructions, all driven by the
// field lists of isa_table.h: every instruction is a flat list of 32-bit words in field order, so one generic
// writer and one generic reader serve every opcode.

#include "arch/bayes/isa.h"

#include <cstdio>
#include <sstream>

#include "common/byte_stream.h"

namespace bpu::bayes {

const char* opcode_name(Opcode op) {
  switch (op) {
#define BPU_ISA_NAME_CASE(Name, code, mnemonic, FIELDS) \
  case Opcode::Name:                                    \
    return mnemonic;
    BPU_ISA_OPCODES(BPU_ISA_NAME_CASE)
#undef BPU_ISA_NAME_CASE
  }
  return "?";  // a value outside the table (every enumerator has its case above)
}

Opcode opcode_of(const Body& body) {
  return std::visit([](const auto& b) { return std::decay_t<decltype(b)>::kOpcode; }, body);
}

namespace {

constexpr bool is_list(FieldKind k) { return k == FieldKind::ListU32 || k == FieldKind::ListI32 || k == FieldKind::Records; }

// Appends an instruction's fields as words. An instruction's lists share one length word.
struct WordWriter {
  const char* mnemonic;
  std::vector<uint32_t> words{};
  bool counted = false;
  size_t count = 0;

  template <FieldKind K, typename T>
  void operator()(Kind<K>, const char* name, const T& v) {
    if constexpr (K == FieldKind::I64) {
      words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v) & 0xffffffffu));
      words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
    } else if constexpr (is_list(K)) {
      length(v.size(), name);
      for (const auto& e : v) {
        if constexpr (K == FieldKind::Records) T::value_type::for_each_field(e, *this);
        else words.push_back(static_cast<uint32_t>(e));
      }
    } else {
      words.push_back(static_cast<uint32_t>(v));
    }
  }

  void length(size_t n, const char* name) {
    if (!counted) {
      counted = true;
      count = n;
      words.push_back(static_cast<uint32_t>(n));
    } else if (n != count) {
      throw Error(ExitCode::Internal, std::string(mnemonic) + " list '" + name + "' has " + std::to_string(n) +
                                          " entries but the instruction's first list has " + std::to_string(count));
    }
  }
};

// Reads an instruction's fields from its words. `pos` counts every word asked for, also beyond the record's
// end (those read 0), so pos != words.size() afterwards means the record has the wrong length.
struct WordReader {
  const char* mnemonic;
  const std::vector<uint32_t>& words;
  const ByteReader& r;
  size_t pos = 0;
  bool counted = false;
  uint32_t count = 0;

  uint32_t next() {
    const uint32_t v = pos < words.size() ? words[pos] : 0;
    ++pos;
    return v;
  }

  template <FieldKind K, typename T>
  void operator()(Kind<K>, const char*, T& v) {
    if constexpr (K == FieldKind::I64) {
      const uint64_t lo = next(), hi = next();
      v = static_cast<int64_t>(lo | (hi << 32));
    } else if constexpr (is_list(K)) {
      v.resize(length(K));
      for (auto& e : v) {
        if constexpr (K == FieldKind::Records) T::value_type::for_each_field(e, *this);
        else e = static_cast<typename T::value_type>(next());
      }
    } else {
      v = static_cast<T>(next());
    }
  }

  // The shared length word, bounded before anything is allocated (a truncated record reads 0 entries).
  uint32_t length(FieldKind k) {
    if (counted) return count;
    counted = true;
    count = next();
    if (pos > words.size()) return count = 0;
    if (k == FieldKind::Records && (count == 0 || count > kMaxConcatInputs)) {
      r.fail(std::string(mnemonic) + " record with " + std::to_string(count) + " inputs (1 to " +
             std::to_string(kMaxConcatInputs) + " allowed)");
    }
    if (k != FieldKind::Records && count > kMaxRankWords) {
      r.fail(std::string(mnemonic) + " rank " + std::to_string(count) + " is above " + std::to_string(kMaxRankWords));
    }
    return count;
  }
};

template <typename T>
Body decode_fields(const std::vector<uint32_t>& words, const ByteReader& r) {
  T body;
  WordReader reader{T::kMnemonic, words, r};
  T::for_each_field(body, reader);
  if (reader.pos != words.size()) {
    r.fail(std::string(T::kMnemonic) + " record has " + std::to_string(words.size()) + " words, expected " +
           std::to_string(reader.pos));
  }
  return body;
}

Body decode_body(uint16_t op, const std::vector<uint32_t>& words, const ByteReader& r) {
  switch (op) {  // one case per table row; duplicate codes in the table fail to compile here
#define BPU_ISA_DECODE_CASE(Name, code, mnemonic, FIELDS) \
  case code:                                              \
    return decode_fields<Name>(words, r);
    BPU_ISA_OPCODES(BPU_ISA_DECODE_CASE)
#undef BPU_ISA_DECODE_CASE
  }
  r.fail("unknown opcode " + std::to_string(op));
}

struct OperandCollector {
  std::vector<uint32_t>* inputs;
  std::vector<uint32_t>* outputs;
  template <FieldKind K, typename T>
  void operator()(Kind<K>, const char*, const T& v) {
    if constexpr (K == FieldKind::BufIn) inputs->push_back(v);
    else if constexpr (K == FieldKind::BufOut) outputs->push_back(v);
    else if constexpr (K == FieldKind::Records) for (const auto& e : v) T::value_type::for_each_field(e, *this);
  }
};

struct FieldFormatter {
  std::ostringstream& os;
  const std::function<std::string(uint32_t)>& buffer;
  bool first = true;
  template <FieldKind K, typename T>
  void operator()(Kind<K>, const char* name, const T& v) {
    os << (first ? "" : " ") << name << "=";
    first = false;
    if constexpr (K == FieldKind::BufIn || K == FieldKind::BufOut) {
      os << buffer(v);
    } else if constexpr (is_list(K)) {
      os << "[";
      for (size_t i = 0; i < v.size(); ++i) {
        os << (i ? "," : "");
        if constexpr (K == FieldKind::Records) {
          FieldFormatter inner{os, buffer};
          os << "{";
          T::value_type::for_each_field(v[i], inner);
          os << "}";
        } else {
          os << v[i];
        }
      }
      os << "]";
    } else {
      os << v;
    }
  }
};

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ", ") + p;
  return s;
}

// Word count and operand list of one opcode for the docs table.
struct LayoutDescriber {
  size_t fixed = 0, per_item = 0;
  char var = 0;  // 'r' for rank-prefixed lists, 'n' for records
  std::vector<std::string> operands;
  template <FieldKind K, typename T>
  void operator()(Kind<K>, const char* name, const T&) {
    const std::string n = name;
    if constexpr (K == FieldKind::I64) {
      fixed += 2;
      operands.push_back(n + " (i64)");
    } else if constexpr (K == FieldKind::I32) {
      fixed += 1;
      operands.push_back(n + " (i32)");
    } else if constexpr (K == FieldKind::Records) {
      var = 'n';
      fixed += 1;
      LayoutDescriber inner;
      const typename T::value_type record{};
      T::value_type::for_each_field(record, inner);
      per_item += inner.fixed;
      operands.push_back("n");
      operands.push_back(n + "[n]: {" + join(inner.operands) + "}");
    } else if constexpr (is_list(K)) {
      if (!var) {
        var = 'r';
        fixed += 1;
        operands.push_back("r");
      }
      per_item += 1;
      operands.push_back(n + "[r]" + (K == FieldKind::ListI32 ? " (i32)" : ""));
    } else {
      fixed += 1;
      operands.push_back(n + (K == FieldKind::BufOut ? " (out)" : K == FieldKind::BufIn ? " (in)" : ""));
    }
  }
  std::string words() const {
    if (!var) return std::to_string(fixed);
    return std::to_string(fixed) + " + " + (per_item > 1 ? std::to_string(per_item) : "") + var;
  }
};

}  // namespace

void buffer_operands(const Body& body, std::vector<uint32_t>* inputs, std::vector<uint32_t>* outputs) {
  std::visit([&](const auto& b) { std::decay_t<decltype(b)>::for_each_field(b, OperandCollector{inputs, outputs}); }, body);
}

std::string format_fields(const Body& body, const std::function<std::string(uint32_t)>& buffer) {
  std::ostringstream os;
  std::visit([&](const auto& b) { std::decay_t<decltype(b)>::for_each_field(b, FieldFormatter{os, buffer}); }, body);
  return os.str();
}

std::string isa_opcode_table_markdown() {
  std::ostringstream os;
  os << "| code | mnemonic | words | operands in order |\n|---|---|---|---|\n";
  auto row = [&](auto body) {
    using T = decltype(body);
    LayoutDescriber d;
    T::for_each_field(body, d);
    char code[8];
    std::snprintf(code, sizeof(code), "0x%04X", static_cast<unsigned>(T::kOpcode));
    os << "| " << code << " | " << T::kMnemonic << " | " << d.words() << " | " << join(d.operands) << " |\n";
  };
#define BPU_ISA_DOC_ROW(Name, code, mnemonic, FIELDS) row(Name{});
  BPU_ISA_OPCODES(BPU_ISA_DOC_ROW)
#undef BPU_ISA_DOC_ROW
  return os.str();
}

std::vector<uint8_t> encode_program(const std::vector<Instruction>& program) {
  ByteWriter w;
  for (const Instruction& ins : program) {
    std::vector<uint32_t> words = std::visit(
        [](const auto& b) {
          using T = std::decay_t<decltype(b)>;
          WordWriter writer{T::kMnemonic};
          T::for_each_field(b, writer);
          return std::move(writer.words);
        },
        ins.body);
    if (words.size() > 0xffff) throw Error(ExitCode::Internal, std::string(opcode_name(opcode_of(ins.body))) + " record exceeds 65535 words");
    w.u16(static_cast<uint16_t>(opcode_of(ins.body)));
    w.u16(static_cast<uint16_t>(words.size()));
    w.u32(ins.source_node);
    for (uint32_t v : words) w.u32(v);
  }
  return std::move(w.data());
}

std::vector<Instruction> decode_program(const uint8_t* data, size_t size, const std::string& context) {
  ByteReader r(data, size, context);
  std::vector<Instruction> out;
  while (!r.at_end()) {
    if (out.size() >= kMaxInstructions) r.fail("more than " + std::to_string(kMaxInstructions) + " instructions");
    Instruction ins;
    const uint16_t op = r.u16();
    const uint16_t count = r.u16();
    ins.source_node = r.u32();
    if (static_cast<size_t>(count) * 4 > r.remaining()) r.fail("record of " + std::to_string(count) + " words is truncated");
    std::vector<uint32_t> words(count);
    for (auto& v : words) v = r.u32();
    ins.body = decode_body(op, words, r);
    ins.opcode = static_cast<Opcode>(op);
    out.push_back(std::move(ins));
  }
  return out;
}

}  // namespace bpu::bayes
