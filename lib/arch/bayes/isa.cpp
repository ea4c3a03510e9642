// Binary encoding and decoding of bayes instructions: every instruction is a flat list of 32-bit words, so
// each op only lists its fields once, in field order, for both directions.

#include "arch/bayes/isa.h"

#include "common/byte_stream.h"

namespace bpu::bayes {

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::Conv2d: return "CONV2D";
    case Opcode::Add: return "ADD";
    case Opcode::Reshape: return "RESHAPE";
    case Opcode::Rescale: return "RESCALE";
    case Opcode::Pool: return "POOL";
    case Opcode::Concat: return "CONCAT";
    case Opcode::Resize: return "RESIZE";
    case Opcode::Lut: return "LUT";
    case Opcode::Mul: return "MUL";
    case Opcode::Transpose: return "TRANSPOSE";
    case Opcode::Slice: return "SLICE";
    case Opcode::Pad: return "PAD";
    case Opcode::Deconv2d: return "DECONV2D";
    case Opcode::Softmax: return "SOFTMAX";
  }
  return "?";
}

namespace {

// Visits an instruction's fields in encoding order with a reader or a writer.
struct WordWriter {
  std::vector<uint32_t> words;
  void u(uint32_t v) { words.push_back(v); }
  void i(int32_t v) { words.push_back(static_cast<uint32_t>(v)); }
  void l(int64_t v) {
    words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v) & 0xffffffffu));
    words.push_back(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
  }
};

struct WordReader {
  const std::vector<uint32_t>& words;
  size_t pos = 0;
  bool overrun = false;
  uint32_t next() {
    if (pos >= words.size()) {
      overrun = true;
      return 0;
    }
    return words[pos++];
  }
  void u(uint32_t& v) { v = next(); }
  void i(int32_t& v) { v = static_cast<int32_t>(next()); }
  void l(int64_t& v) {
    uint64_t lo = next(), hi = next();
    v = static_cast<int64_t>(lo | (hi << 32));
  }
};

template <typename IO, typename C>
void fields(IO& io, C& c) {
  using T = std::remove_const_t<C>;
  if constexpr (std::is_same_v<T, Conv2d>) {
    for (auto* f : {&c.input, &c.output, &c.kernel_h, &c.kernel_w, &c.stride_h, &c.stride_w, &c.pad_top, &c.pad_left,
                    &c.pad_bottom, &c.pad_right, &c.dilation_h, &c.dilation_w, &c.groups, &c.weight_offset,
                    &c.requant_offset}) {
      io.u(*f);
    }
    io.i(c.clamp_lo);
    io.i(c.clamp_hi);
  } else if constexpr (std::is_same_v<T, Add>) {
    io.u(c.input_a);
    io.u(c.input_b);
    io.u(c.output);
    io.l(c.mult_a);
    io.l(c.mult_b);
    io.i(c.shift);
    io.i(c.clamp_lo);
    io.i(c.clamp_hi);
  } else if constexpr (std::is_same_v<T, Reshape>) {
    io.u(c.input);
    io.u(c.output);
  } else if constexpr (std::is_same_v<T, Rescale>) {
    io.u(c.input);
    io.u(c.output);
    io.l(c.mult);
    io.i(c.shift);
    io.i(c.clamp_lo);
    io.i(c.clamp_hi);
  } else if constexpr (std::is_same_v<T, Pool>) {
    for (auto* f : {&c.input, &c.output, &c.kind, &c.in_scale_bits, &c.out_scale_bits, &c.kernel_h, &c.kernel_w, &c.stride_h, &c.stride_w, &c.pad_top,
                    &c.pad_left, &c.pad_bottom, &c.pad_right, &c.dilation_h, &c.dilation_w, &c.count_include_pad,
                    &c.table_offset, &c.table_entries}) {
      io.u(*f);
    }
    io.i(c.clamp_lo);
    io.i(c.clamp_hi);
  } else if constexpr (std::is_same_v<T, Resize>) {
    for (auto* f : {&c.input, &c.output, &c.mode, &c.coordinate_mode, &c.nearest_mode, &c.in_scale_bits, &c.out_scale_bits}) io.u(*f);
    io.l(c.mult);
    io.i(c.shift);
    io.i(c.clamp_lo);
    io.i(c.clamp_hi);
  } else if constexpr (std::is_same_v<T, Lut>) {
    io.u(c.input);
    io.u(c.output);
    io.u(c.table_offset);
  } else if constexpr (std::is_same_v<T, Mul>) {
    io.u(c.input_a);
    io.u(c.input_b);
    io.u(c.output);
    io.i(c.multiplier);
    io.i(c.shift);
    io.i(c.clamp_lo);
    io.i(c.clamp_hi);
  } else if constexpr (std::is_same_v<T, Deconv2d>) {
    for (auto* f : {&c.input, &c.output, &c.kernel_h, &c.kernel_w, &c.stride_h, &c.stride_w, &c.pad_top, &c.pad_left,
                    &c.dilation_h, &c.dilation_w, &c.groups, &c.weight_offset, &c.requant_offset}) {
      io.u(*f);
    }
    io.i(c.clamp_lo);
    io.i(c.clamp_hi);
  } else if constexpr (std::is_same_v<T, Softmax>) {
    for (auto* f : {&c.input, &c.output, &c.axis, &c.in_scale_bits, &c.out_scale_bits}) io.u(*f);
  }
}

// Variable-length records: a rank word, then one list (or two) of rank entries.
template <typename IO, typename V>
void list(IO& io, V& values, uint32_t rank) {
  values.resize(rank);
  for (auto& v : values) {
    if constexpr (std::is_same_v<typename V::value_type, int32_t>) io.i(v);
    else io.u(v);
  }
}

template <typename IO, typename C>
bool variable_fields(IO& io, C& c, bool reading) {
  using T = std::remove_const_t<C>;
  uint32_t rank = 0;
  if constexpr (std::is_same_v<T, Transpose>) {
    io.u(c.input);
    io.u(c.output);
    rank = static_cast<uint32_t>(c.perm.size());
    io.u(rank);
    if (reading && rank > kMaxRankWords) return false;
    list(io, c.perm, rank);
  } else if constexpr (std::is_same_v<T, Slice>) {
    io.u(c.input);
    io.u(c.output);
    rank = static_cast<uint32_t>(c.starts.size());
    io.u(rank);
    if (reading && rank > kMaxRankWords) return false;
    list(io, c.starts, rank);
    list(io, c.steps, rank);
  } else if constexpr (std::is_same_v<T, Pad>) {
    io.u(c.input);
    io.u(c.output);
    io.i(c.value);
    rank = static_cast<uint32_t>(c.begins.size());
    io.u(rank);
    if (reading && rank > kMaxRankWords) return false;
    list(io, c.begins, rank);
  }
  return true;
}

}  // namespace

void buffer_operands(const Body& body, std::vector<uint32_t>* inputs, std::vector<uint32_t>* outputs) {
  std::visit(
      [&](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, Add> || std::is_same_v<T, Mul>) {
          inputs->push_back(b.input_a);
          inputs->push_back(b.input_b);
        } else if constexpr (std::is_same_v<T, Concat>) {
          for (const auto& i : b.inputs) inputs->push_back(i.buffer);
        } else {
          inputs->push_back(b.input);
        }
        outputs->push_back(b.output);
      },
      body);
}

Opcode opcode_of(const Body& body) {
  return std::visit(
      [](const auto& b) {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, Conv2d>) return Opcode::Conv2d;
        else if constexpr (std::is_same_v<T, Add>) return Opcode::Add;
        else if constexpr (std::is_same_v<T, Reshape>) return Opcode::Reshape;
        else if constexpr (std::is_same_v<T, Rescale>) return Opcode::Rescale;
        else if constexpr (std::is_same_v<T, Pool>) return Opcode::Pool;
        else if constexpr (std::is_same_v<T, Concat>) return Opcode::Concat;
        else if constexpr (std::is_same_v<T, Resize>) return Opcode::Resize;
        else if constexpr (std::is_same_v<T, Lut>) return Opcode::Lut;
        else if constexpr (std::is_same_v<T, Mul>) return Opcode::Mul;
        else if constexpr (std::is_same_v<T, Transpose>) return Opcode::Transpose;
        else if constexpr (std::is_same_v<T, Slice>) return Opcode::Slice;
        else if constexpr (std::is_same_v<T, Pad>) return Opcode::Pad;
        else if constexpr (std::is_same_v<T, Deconv2d>) return Opcode::Deconv2d;
        else return Opcode::Softmax;
      },
      body);
}

std::vector<uint8_t> encode_program(const std::vector<Instruction>& program) {
  ByteWriter w;
  for (const Instruction& ins : program) {
    WordWriter ww;
    if (const auto* c = std::get_if<Concat>(&ins.body)) {
      ww.u(c->output);
      ww.u(c->axis);
      ww.u(static_cast<uint32_t>(c->inputs.size()));
      for (const auto& in : c->inputs) {
        ww.u(in.buffer);
        ww.l(in.mult);
        ww.i(in.shift);
      }
    } else {
      std::visit(
          [&](const auto& b) {
            fields(ww, b);
            variable_fields(ww, const_cast<std::decay_t<decltype(b)>&>(b), false);
          },
          ins.body);
    }
    w.u16(static_cast<uint16_t>(opcode_of(ins.body)));
    w.u16(static_cast<uint16_t>(ww.words.size()));
    w.u32(ins.source_node);
    for (uint32_t v : ww.words) w.u32(v);
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
    WordReader wr{words};
    switch (static_cast<Opcode>(op)) {
      case Opcode::Conv2d: { Conv2d b; fields(wr, b); ins.body = b; break; }
      case Opcode::Add: { Add b; fields(wr, b); ins.body = b; break; }
      case Opcode::Reshape: { Reshape b; fields(wr, b); ins.body = b; break; }
      case Opcode::Rescale: { Rescale b; fields(wr, b); ins.body = b; break; }
      case Opcode::Pool: { Pool b; fields(wr, b); ins.body = b; break; }
      case Opcode::Resize: { Resize b; fields(wr, b); ins.body = b; break; }
      case Opcode::Lut: { Lut b; fields(wr, b); ins.body = b; break; }
      case Opcode::Mul: { Mul b; fields(wr, b); ins.body = b; break; }
      case Opcode::Deconv2d: { Deconv2d b; fields(wr, b); ins.body = b; break; }
      case Opcode::Softmax: { Softmax b; fields(wr, b); ins.body = b; break; }
      case Opcode::Transpose: { Transpose b; if (!variable_fields(wr, b, true)) r.fail("TRANSPOSE rank too large"); ins.body = b; break; }
      case Opcode::Slice: { Slice b; if (!variable_fields(wr, b, true)) r.fail("SLICE rank too large"); ins.body = b; break; }
      case Opcode::Pad: { Pad b; if (!variable_fields(wr, b, true)) r.fail("PAD rank too large"); ins.body = b; break; }
      case Opcode::Concat: {
        Concat c;
        wr.u(c.output);
        wr.u(c.axis);
        uint32_t n = 0;
        wr.u(n);
        if (n == 0 || n > kMaxConcatInputs || words.size() != 3 + 4 * static_cast<size_t>(n)) {
          r.fail("CONCAT record with " + std::to_string(n) + " inputs has " + std::to_string(words.size()) + " words");
        }
        c.inputs.resize(n);
        for (auto& in : c.inputs) {
          wr.u(in.buffer);
          wr.l(in.mult);
          wr.i(in.shift);
        }
        ins.body = c;
        break;
      }
      default: r.fail("unknown opcode " + std::to_string(op));
    }
    if (wr.overrun || wr.pos != words.size()) {
      r.fail(std::string(opcode_name(static_cast<Opcode>(op))) + " record has " + std::to_string(words.size()) +
             " words, expected " + std::to_string(wr.pos));
    }
    ins.opcode = static_cast<Opcode>(op);
    out.push_back(std::move(ins));
  }
  return out;
}

}  // namespace bpu::bayes
