// .bin writer and validating reader.

#include "artifact/bin_format.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "common/byte_stream.h"
#include "common/error.h"
#include "common/file_io.h"
#include "numerics/requant.h"

namespace bpu {

uint32_t crc32_of(const uint8_t* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed in chunks.
  while (size > 0) {
    uInt chunk = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, data, chunk);
    data += chunk;
    size -= chunk;
  }
  return static_cast<uint32_t>(crc);
}

namespace {

constexpr uint32_t kMaxSections = 4096;
constexpr uint32_t kMaxCount = 1 << 20;       // entries in any table
constexpr uint32_t kMaxNameBytes = 4096;
constexpr uint32_t kMaxYamlBytes = 1 << 20;
constexpr uint32_t kSectionEntryBytes = 32;
constexpr size_t kHeaderCrcOffset = 48;  // magic 8, version 4, header size 4, march 16, sections 4, flags 4, file size 8

void write_tensor_info(ByteWriter& w, const TensorInfo& t) {
  w.str(t.name);
  w.u32(static_cast<uint32_t>(t.dtype));
  w.u32(static_cast<uint32_t>(t.shape.size()));
  for (int64_t d : t.shape) w.i64(d);
  w.u32(static_cast<uint32_t>(t.scales.size()));
  for (float s : t.scales) w.f32(s);
  w.i32(t.axis);
  w.u32(static_cast<uint32_t>(t.layout));
}

TensorInfo read_tensor_info(ByteReader& r) {
  TensorInfo t;
  t.name = r.str(kMaxNameBytes);
  uint32_t code = r.u32();
  if (!dtype_from_code(code, &t.dtype)) r.fail("tensor '" + t.name + "' has unknown dtype code " + std::to_string(code));
  uint32_t rank = r.u32();
  if (rank > kMaxRank) r.fail("tensor '" + t.name + "' has rank " + std::to_string(rank));
  for (uint32_t i = 0; i < rank; ++i) t.shape.push_back(r.i64());
  try {
    checked_element_count(t.shape, "tensor '" + t.name + "'", ExitCode::Artifact);
  } catch (const Error& e) {
    r.fail(e.what());
  }
  uint32_t n_scales = r.u32();
  if (n_scales > kMaxCount) r.fail("tensor '" + t.name + "' has " + std::to_string(n_scales) + " scales");
  for (uint32_t i = 0; i < n_scales; ++i) {
    float s = r.f32();
    if (!is_sane_scale(s)) r.fail("tensor '" + t.name + "' has invalid scale " + std::to_string(s));
    t.scales.push_back(s);
  }
  t.axis = r.i32();
  uint32_t layout = r.u32();
  if (layout > 1) r.fail("tensor '" + t.name + "' has unknown layout code " + std::to_string(layout));
  t.layout = static_cast<Layout>(layout);
  if (t.layout == Layout::NCHW && rank != 4) r.fail("tensor '" + t.name + "' is NCHW but has rank " + std::to_string(rank));
  if (t.dtype == DType::Float32) {
    if (n_scales != 0) r.fail("float tensor '" + t.name + "' must not have scales");
  } else if (n_scales == 0) {
    r.fail("integer tensor '" + t.name + "' has no scales");
  } else if (n_scales > 1) {
    if (t.axis < 0 || t.axis >= static_cast<int32_t>(rank) || t.shape[t.axis] != static_cast<int64_t>(n_scales)) {
      r.fail("tensor '" + t.name + "' has " + std::to_string(n_scales) + " scales that do not match axis " + std::to_string(t.axis));
    }
  }
  return t;
}

// An input's format (common/image_format.h): types, layout/range flags, normalization and its values.
void write_input_format(ByteWriter& w, const InputFormat& f) {
  w.u32(static_cast<uint32_t>(f.type_rt));
  w.u32(static_cast<uint32_t>(f.type_train));
  w.u32((f.rt_nhwc ? 1u : 0u) | (f.train_nhwc ? 2u : 0u) | (f.video_range ? 4u : 0u));
  w.u32(static_cast<uint32_t>(f.norm));
  for (const auto* values : {&f.mean, &f.scale}) {
    w.u32(static_cast<uint32_t>(values->size()));
    for (float v : *values) w.f32(v);
  }
}

InputFormat read_input_format(ByteReader& r, const TensorInfo& input) {
  InputFormat f;
  const std::string what = "input '" + input.name + "'";
  if (!image_type_from_code(r.u32(), &f.type_rt) || !image_type_from_code(r.u32(), &f.type_train)) {
    r.fail(what + " has an unknown image type code");
  }
  const uint32_t flags = r.u32();
  if (flags > 7) r.fail(what + " has invalid layout/range flags");
  f.rt_nhwc = flags & 1, f.train_nhwc = flags & 2, f.video_range = flags & 4;
  const uint32_t norm = r.u32();
  if (norm > 3) r.fail(what + " has an invalid norm_type");
  f.norm = static_cast<NormType>(norm);
  for (std::vector<float>* list : {&f.mean, &f.scale}) {
    const uint32_t n = r.u32();
    if (n > 4) r.fail(what + " has " + std::to_string(n) + " normalization values");
    for (uint32_t k = 0; k < n; ++k) list->push_back(r.f32());
  }
  const std::string problem = format_problem(f);
  if (!problem.empty()) r.fail(what + ": " + problem);
  const bool pixels = input.dtype == DType::UInt8;
  if (pixels != f.is_image()) r.fail(what + " has dtype " + dtype_name(input.dtype) + " for input type " + image_type_name(f.type_rt));
  if (f.needs_preprocess()) {
    try {
      train_shape_of(f, input.shape, what, ExitCode::Artifact);
    } catch (const Error& e) {
      r.fail(e.what());
    }
  }
  return f;
}

uint32_t read_count(ByteReader& r, const char* what, size_t min_entry_bytes) {
  uint32_t n = r.u32();
  if (n > kMaxCount || static_cast<uint64_t>(n) * min_entry_bytes > r.remaining()) {
    r.fail(std::string(what) + " count " + std::to_string(n) + " does not fit the section");
  }
  return n;
}

std::vector<uint8_t> meta_section(const CompiledModel& m) {
  ByteWriter w;
  w.str(m.compiler_version);
  w.str(m.source_model);
  w.str(m.config_yaml);
  return std::move(w.data());
}

std::vector<uint8_t> graph_section(const CompiledModel& m) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(m.values.size()));
  for (const auto& v : m.values) write_tensor_info(w, v);
  w.u32(static_cast<uint32_t>(m.inputs.size()));
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    w.str(m.inputs[i].name);
    write_input_format(w, i < m.input_formats.size() ? m.input_formats[i] : InputFormat{});
  }
  w.u32(static_cast<uint32_t>(m.outputs.size()));
  for (const auto& v : m.outputs) w.str(v.name);
  w.u32(static_cast<uint32_t>(m.steps.size()));
  for (const auto& s : m.steps) {
    w.u32(static_cast<uint32_t>(s.kind));
    w.u32(s.segment);
    w.str(s.source);
    w.str(s.target);
  }
  w.u32(static_cast<uint32_t>(m.removed_nodes.size()));
  for (const auto& n : m.removed_nodes) w.str(n);
  return std::move(w.data());
}

std::vector<uint8_t> segment_section(const BpuSegment& s) {
  ByteWriter w;
  w.u64(s.arena_size);
  w.u64(s.sram_size);
  w.u64(s.weight_staging_size);
  w.u32(static_cast<uint32_t>(s.buffers.size()));
  for (const auto& b : s.buffers) {
    write_tensor_info(w, b.info);
    w.u64(b.offset);
    w.u64(b.size);
  }
  w.u32(static_cast<uint32_t>(s.input_buffers.size()));
  for (size_t i = 0; i < s.input_buffers.size(); ++i) {
    w.u32(s.input_buffers[i]);
    w.str(s.input_values[i]);
  }
  w.u32(static_cast<uint32_t>(s.output_buffers.size()));
  for (size_t i = 0; i < s.output_buffers.size(); ++i) {
    w.u32(s.output_buffers[i]);
    w.str(s.output_values[i]);
  }
  w.u32(static_cast<uint32_t>(s.source_nodes.size()));
  for (const auto& n : s.source_nodes) w.str(n);
  w.u64(s.code.size());
  w.align(8);
  w.bytes(s.code.data(), s.code.size());
  w.align(16);
  w.u64(s.constants.size());
  w.align(16);
  w.bytes(s.constants.data(), s.constants.size());
  return std::move(w.data());
}

std::vector<uint8_t> cpu_segment_section(const CpuSegment& s) {
  ByteWriter w;
  w.u32(static_cast<uint32_t>(s.input_values.size()));
  for (const auto& v : s.input_values) w.str(v);
  w.u32(static_cast<uint32_t>(s.output_values.size()));
  for (const auto& v : s.output_values) w.str(v);
  w.u64(s.onnx.size());
  w.align(8);
  w.bytes(s.onnx.data(), s.onnx.size());
  return std::move(w.data());
}

}  // namespace

std::vector<uint8_t> serialize_model(const CompiledModel& m) {
  struct Sec { SectionKind kind; uint32_t index; std::vector<uint8_t> bytes; };
  std::vector<Sec> sections;
  sections.push_back({SectionKind::Meta, 0, meta_section(m)});
  sections.push_back({SectionKind::Graph, 0, graph_section(m)});
  for (size_t i = 0; i < m.bpu_segments.size(); ++i) {
    sections.push_back({SectionKind::BpuSegment, static_cast<uint32_t>(i), segment_section(m.bpu_segments[i])});
  }
  for (size_t i = 0; i < m.cpu_segments.size(); ++i) {
    sections.push_back({SectionKind::CpuSegment, static_cast<uint32_t>(i), cpu_segment_section(m.cpu_segments[i])});
  }
  ByteWriter w;
  w.bytes(kBinMagic, 8);
  w.u32(kBinFormatVersion);
  w.u32(kBinHeaderSize);
  char march[16] = {};
  std::strncpy(march, m.march.c_str(), sizeof(march) - 1);
  w.bytes(march, 16);
  w.u32(static_cast<uint32_t>(sections.size()));
  w.u32(0);                  // flags
  size_t file_size_at = w.size();
  w.u64(0);                  // file size, patched below
  size_t header_crc_at = w.size();
  if (header_crc_at != kHeaderCrcOffset) throw Error(ExitCode::Internal, "bin header layout drifted");
  w.u32(0);                  // CRC of header (this field zero) + section table, patched below
  while (w.size() < 64) w.u8(0);
  char version[16] = {};
  std::strncpy(version, m.compiler_version.c_str(), sizeof(version) - 1);
  w.bytes(version, 16);      // 64: compiler version
  w.u64(m.config_hash);      // 80
  w.u64(m.model_hash);       // 88
  while (w.size() < kBinHeaderSize) w.u8(0);
  size_t table_at = w.size();
  for (size_t i = 0; i < sections.size(); ++i) {
    for (int k = 0; k < 8; ++k) w.u32(0);
  }
  std::vector<uint64_t> offsets;
  for (auto& s : sections) {
    w.align(64);
    offsets.push_back(w.size());
    w.bytes(s.bytes.data(), s.bytes.size());
  }
  w.align(64);
  for (size_t i = 0; i < sections.size(); ++i) {
    size_t e = table_at + i * kSectionEntryBytes;
    w.patch_u32(e, static_cast<uint32_t>(sections[i].kind));
    w.patch_u32(e + 4, sections[i].index);
    w.patch_u64(e + 8, offsets[i]);
    w.patch_u64(e + 16, sections[i].bytes.size());
    w.patch_u32(e + 24, crc32_of(sections[i].bytes.data(), sections[i].bytes.size()));
  }
  w.patch_u64(file_size_at, w.size());
  size_t table_end = table_at + sections.size() * kSectionEntryBytes;
  w.patch_u32(header_crc_at, crc32_of(w.data().data(), table_end));
  return std::move(w.data());
}

CompiledModel deserialize_model(const std::vector<uint8_t>& bytes, const std::string& path) {
  ByteReader h(bytes.data(), bytes.size(), "model '" + path + "' header");
  if (bytes.size() < kBinHeaderSize || std::memcmp(bytes.data(), kBinMagic, 8) != 0) {
    throw Error(ExitCode::Artifact, "model '" + path + "' is not a bpu-mapper .bin (bad magic); compile it with "
                                                       "`bpu-mapper makertbin`");
  }
  h.take(8);
  uint32_t version = h.u32();
  if (version != kBinFormatVersion) {
    throw Error(ExitCode::Artifact, "model '" + path + "' has format version " + std::to_string(version) +
                                        ", this bpu-mapper reads version " + std::to_string(kBinFormatVersion) +
                                        (version < kBinFormatVersion ? "; it was built by an older bpu-mapper: recompile it "
                                                                       "with `bpu-mapper makertbin`"
                                                                     : "; it was built by a newer bpu-mapper: use that version"));
  }
  if (h.u32() != kBinHeaderSize) h.fail("unexpected header size");
  const uint8_t* march_bytes = h.take(16);
  if (march_bytes[15] != 0) h.fail("march field is not NUL-terminated");
  CompiledModel m;
  m.march = std::string(reinterpret_cast<const char*>(march_bytes));
  uint32_t n_sections = h.u32();
  h.u32();  // flags
  uint64_t file_size = h.u64();
  uint32_t header_crc = h.u32();
  h.take(12);
  const uint8_t* version_bytes = h.take(16);
  if (version_bytes[15] != 0) h.fail("compiler version field is not NUL-terminated");
  const std::string header_version(reinterpret_cast<const char*>(version_bytes));
  m.config_hash = h.u64();
  m.model_hash = h.u64();
  if (file_size != bytes.size()) {
    throw Error(ExitCode::Artifact, "model '" + path + "' is " + std::to_string(bytes.size()) + " bytes but its header says " +
                                        std::to_string(file_size) + " (truncated or padded file)");
  }
  if (n_sections < 2 || n_sections > kMaxSections ||
      kBinHeaderSize + static_cast<uint64_t>(n_sections) * kSectionEntryBytes > bytes.size()) {
    h.fail("section count " + std::to_string(n_sections) + " does not fit the file");
  }
  size_t table_end = kBinHeaderSize + n_sections * kSectionEntryBytes;
  std::vector<uint8_t> header_copy(bytes.begin(), bytes.begin() + table_end);
  std::memset(header_copy.data() + kHeaderCrcOffset, 0, 4);
  if (crc32_of(header_copy.data(), header_copy.size()) != header_crc) {
    throw Error(ExitCode::Artifact, "model '" + path + "': header or section table CRC mismatch (corrupted file)");
  }

  bool have_meta = false, have_graph = false;
  std::vector<std::pair<uint32_t, BpuSegment>> segments;
  std::vector<std::pair<uint32_t, CpuSegment>> cpu_segments;
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  ByteReader t(bytes.data() + kBinHeaderSize, n_sections * kSectionEntryBytes, "model '" + path + "' section table");
  for (uint32_t i = 0; i < n_sections; ++i) {
    uint32_t kind = t.u32();
    uint32_t index = t.u32();
    uint64_t offset = t.u64();
    uint64_t size = t.u64();
    uint32_t crc = t.u32();
    t.u32();
    if (offset < table_end || offset % 64 || offset > bytes.size() || size > bytes.size() - offset) {
      t.fail("section " + std::to_string(i) + " range [" + std::to_string(offset) + ", +" + std::to_string(size) +
             ") is outside the file or misaligned");
    }
    ranges.emplace_back(offset, size);
    const uint8_t* data = bytes.data() + offset;
    std::string ctx = "model '" + path + "' section " + std::to_string(i);
    if (crc32_of(data, size) != crc) throw Error(ExitCode::Artifact, ctx + ": CRC mismatch (corrupted file)");
    ByteReader r(data, size, ctx);
    if (kind == static_cast<uint32_t>(SectionKind::Meta)) {
      if (have_meta) r.fail("duplicate META section");
      have_meta = true;
      m.compiler_version = r.str(kMaxNameBytes);
      if (m.compiler_version.substr(0, 15) != header_version) r.fail("compiler version differs from the header's");
      m.source_model = r.str(kMaxNameBytes);
      m.config_yaml = r.str(kMaxYamlBytes);
    } else if (kind == static_cast<uint32_t>(SectionKind::Graph)) {
      if (have_graph) r.fail("duplicate GRAPH section");
      have_graph = true;
      uint32_t nv = read_count(r, "value", 20);
      for (uint32_t k = 0; k < nv; ++k) m.values.push_back(read_tensor_info(r));
      auto find_value = [&](const std::string& name) -> const TensorInfo& {
        for (const auto& v : m.values) if (v.name == name) return v;
        r.fail("unknown value '" + name + "'");
      };
      uint32_t ni = read_count(r, "input", 28);
      for (uint32_t k = 0; k < ni; ++k) {
        m.inputs.push_back(find_value(r.str(kMaxNameBytes)));
        m.input_formats.push_back(read_input_format(r, m.inputs.back()));
      }
      uint32_t no = read_count(r, "output", 4);
      for (uint32_t k = 0; k < no; ++k) m.outputs.push_back(find_value(r.str(kMaxNameBytes)));
      uint32_t ns = read_count(r, "step", 16);
      for (uint32_t k = 0; k < ns; ++k) {
        Step s;
        uint32_t kind_code = r.u32();
        if (kind_code < 1 || kind_code > 4) r.fail("unknown step kind " + std::to_string(kind_code));
        s.kind = static_cast<StepKind>(kind_code);
        s.segment = r.u32();
        s.source = r.str(kMaxNameBytes);
        s.target = r.str(kMaxNameBytes);
        m.steps.push_back(s);
      }
      uint32_t nr = read_count(r, "removed node", 4);
      for (uint32_t k = 0; k < nr; ++k) m.removed_nodes.push_back(r.str(kMaxNameBytes));
      if (!r.at_end()) r.fail("trailing bytes");
    } else if (kind == static_cast<uint32_t>(SectionKind::BpuSegment)) {
      BpuSegment s;
      s.arena_size = r.u64();
      s.sram_size = r.u64();
      s.weight_staging_size = r.u64();
      uint32_t nb = read_count(r, "buffer", 36);
      for (uint32_t k = 0; k < nb; ++k) {
        BpuBuffer b;
        b.info = read_tensor_info(r);
        b.offset = r.u64();
        b.size = r.u64();
        s.buffers.push_back(b);
      }
      uint32_t ni = read_count(r, "segment input", 8);
      for (uint32_t k = 0; k < ni; ++k) {
        s.input_buffers.push_back(r.u32());
        s.input_values.push_back(r.str(kMaxNameBytes));
      }
      uint32_t no = read_count(r, "segment output", 8);
      for (uint32_t k = 0; k < no; ++k) {
        s.output_buffers.push_back(r.u32());
        s.output_values.push_back(r.str(kMaxNameBytes));
      }
      uint32_t nn = read_count(r, "source node", 4);
      for (uint32_t k = 0; k < nn; ++k) s.source_nodes.push_back(r.str(kMaxNameBytes));
      uint64_t code_size = r.u64();
      while (r.pos() % 8) r.u8();
      if (code_size > r.remaining()) r.fail("code size " + std::to_string(code_size) + " exceeds the section");
      const uint8_t* code = r.take(code_size);
      s.code.assign(code, code + code_size);
      while (r.pos() % 16) r.u8();
      uint64_t const_size = r.u64();
      while (r.pos() % 16) r.u8();
      if (const_size > r.remaining()) r.fail("constant pool size " + std::to_string(const_size) + " exceeds the section");
      const uint8_t* pool = r.take(const_size);
      s.constants.assign(pool, pool + const_size);
      if (!r.at_end()) r.fail("trailing bytes");
      segments.emplace_back(index, std::move(s));
    } else if (kind == static_cast<uint32_t>(SectionKind::CpuSegment)) {
      CpuSegment s;
      uint32_t ni = read_count(r, "CPU segment input", 4);
      for (uint32_t k = 0; k < ni; ++k) s.input_values.push_back(r.str(kMaxNameBytes));
      uint32_t no = read_count(r, "CPU segment output", 4);
      for (uint32_t k = 0; k < no; ++k) s.output_values.push_back(r.str(kMaxNameBytes));
      uint64_t onnx_size = r.u64();
      while (r.pos() % 8) r.u8();
      if (onnx_size > r.remaining()) r.fail("ONNX size " + std::to_string(onnx_size) + " exceeds the section");
      const uint8_t* onnx = r.take(onnx_size);
      s.onnx.assign(onnx, onnx + onnx_size);
      if (!r.at_end()) r.fail("trailing bytes");
      cpu_segments.emplace_back(index, std::move(s));
    } else {
      t.fail("unknown section kind " + std::to_string(kind));
    }
  }
  if (!have_meta || !have_graph) throw Error(ExitCode::Artifact, "model '" + path + "' lacks its META or GRAPH section");
  // Sections must not overlap and every byte outside them (alignment padding) must be zero, so that no
  // single corrupted byte anywhere in the file goes unnoticed.
  std::sort(ranges.begin(), ranges.end());
  uint64_t cursor = table_end;
  for (const auto& [offset, size] : ranges) {
    if (offset < cursor) throw Error(ExitCode::Artifact, "model '" + path + "': sections overlap");
    for (uint64_t k = cursor; k < offset; ++k) {
      if (bytes[k] != 0) throw Error(ExitCode::Artifact, "model '" + path + "': non-zero padding byte at " + std::to_string(k));
    }
    cursor = offset + size;
  }
  for (uint64_t k = cursor; k < bytes.size(); ++k) {
    if (bytes[k] != 0) throw Error(ExitCode::Artifact, "model '" + path + "': non-zero padding byte at " + std::to_string(k));
  }
  for (size_t i = 0; i < segments.size(); ++i) {
    if (segments[i].first != i) throw Error(ExitCode::Artifact, "model '" + path + "': BPU segments are out of order");
    m.bpu_segments.push_back(std::move(segments[i].second));
  }
  for (size_t i = 0; i < cpu_segments.size(); ++i) {
    if (cpu_segments[i].first != i) throw Error(ExitCode::Artifact, "model '" + path + "': CPU segments are out of order");
    m.cpu_segments.push_back(std::move(cpu_segments[i].second));
  }
  return m;
}

void save_model(const CompiledModel& model, const std::string& path) { write_file_atomic(path, serialize_model(model)); }

CompiledModel load_model_file(const std::string& path) {
  return deserialize_model(read_file(path, kMaxBinBytes, "model"), path);
}

}  // namespace bpu
