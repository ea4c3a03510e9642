// Binary encoding and decoding of bayes instructions.

#include "arch/bayes/isa.h"

#include "common/byte_stream.h"

namespace bpu::bayes {

const char* opcode_name(Opcode op) {
  switch (op) {
    case Opcode::Conv2d: return "CONV2D";
    case Opcode::Add: return "ADD";
    case Opcode::Reshape: return "RESHAPE";
  }
  return "?";
}

namespace {

void put_i64(ByteWriter& w, int64_t v) {
  w.u32(static_cast<uint32_t>(static_cast<uint64_t>(v) & 0xffffffffu));
  w.u32(static_cast<uint32_t>(static_cast<uint64_t>(v) >> 32));
}

int64_t get_i64(ByteReader& r) {
  uint64_t lo = r.u32();
  uint64_t hi = r.u32();
  return static_cast<int64_t>(lo | (hi << 32));
}

}  // namespace

std::vector<uint8_t> encode_program(const std::vector<Instruction>& program) {
  ByteWriter w;
  for (const Instruction& ins : program) {
    w.u16(static_cast<uint16_t>(ins.opcode));
    if (const auto* c = std::get_if<Conv2d>(&ins.body)) {
      w.u16(Conv2d::kWords);
      w.u32(ins.source_node);
      for (uint32_t v : {c->input, c->output, c->kernel_h, c->kernel_w, c->stride_h, c->stride_w, c->pad_top,
                         c->pad_left, c->pad_bottom, c->pad_right, c->dilation_h, c->dilation_w, c->groups,
                         c->weight_offset, c->requant_offset}) {
        w.u32(v);
      }
      w.i32(c->clamp_lo);
      w.i32(c->clamp_hi);
      w.u32(0);  // reserved
      w.u32(0);
    } else if (const auto* rs = std::get_if<Reshape>(&ins.body)) {
      w.u16(Reshape::kWords);
      w.u32(ins.source_node);
      w.u32(rs->input);
      w.u32(rs->output);
    } else {
      const Add& a = std::get<Add>(ins.body);
      w.u16(Add::kWords);
      w.u32(ins.source_node);
      w.u32(a.input_a);
      w.u32(a.input_b);
      w.u32(a.output);
      put_i64(w, a.mult_a);
      put_i64(w, a.mult_b);
      w.i32(a.shift);
      w.i32(a.clamp_lo);
      w.i32(a.clamp_hi);
    }
  }
  return std::move(w.data());
}

std::vector<Instruction> decode_program(const uint8_t* data, size_t size, const std::string& context) {
  ByteReader r(data, size, context);
  std::vector<Instruction> out;
  while (!r.at_end()) {
    if (out.size() >= kMaxInstructions) r.fail("more than " + std::to_string(kMaxInstructions) + " instructions");
    Instruction ins;
    uint16_t op = r.u16();
    uint16_t words = r.u16();
    ins.source_node = r.u32();
    auto expect_words = [&](uint16_t n) {
      if (words != n) r.fail("opcode 0x" + std::to_string(op) + " needs " + std::to_string(n) + " words, record has " + std::to_string(words));
    };
    if (op == static_cast<uint16_t>(Opcode::Conv2d)) {
      expect_words(Conv2d::kWords);
      Conv2d c;
      uint32_t* fields[] = {&c.input, &c.output, &c.kernel_h, &c.kernel_w, &c.stride_h, &c.stride_w, &c.pad_top,
                            &c.pad_left, &c.pad_bottom, &c.pad_right, &c.dilation_h, &c.dilation_w, &c.groups,
                            &c.weight_offset, &c.requant_offset};
      for (uint32_t* f : fields) *f = r.u32();
      c.clamp_lo = r.i32();
      c.clamp_hi = r.i32();
      if (r.u32() != 0 || r.u32() != 0) r.fail("reserved CONV2D words must be 0");
      ins.opcode = Opcode::Conv2d;
      ins.body = c;
    } else if (op == static_cast<uint16_t>(Opcode::Add)) {
      expect_words(Add::kWords);
      Add a;
      a.input_a = r.u32();
      a.input_b = r.u32();
      a.output = r.u32();
      a.mult_a = get_i64(r);
      a.mult_b = get_i64(r);
      a.shift = r.i32();
      a.clamp_lo = r.i32();
      a.clamp_hi = r.i32();
      ins.opcode = Opcode::Add;
      ins.body = a;
    } else if (op == static_cast<uint16_t>(Opcode::Reshape)) {
      expect_words(Reshape::kWords);
      Reshape rs;
      rs.input = r.u32();
      rs.output = r.u32();
      ins.opcode = Opcode::Reshape;
      ins.body = rs;
    } else {
      r.fail("unknown opcode " + std::to_string(op));
    }
    out.push_back(ins);
  }
  return out;
}

}  // namespace bpu::bayes
