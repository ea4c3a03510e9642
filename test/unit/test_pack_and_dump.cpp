// Packed files (artifact/pack_format.h: hb_pack's role), layer dumps (report/layer_dump.h: `infer`) and
// layer_out_dump. A packed model runs bit-identically to its own .bin; a damaged pack is refused naming the
// problem; the QAT side of a dump ends in torch's own QAT outputs (the fixture's golden files), the .bin side in
// the .bin's run, and the paired interior tensors agree within one LSB; layer_out_dump adds outputs without
// changing any value; a profiled run times every instruction, CPU node and host step once.

#include "api/bpu_mapper.h"
#include "artifact/bin_format.h"
#include "artifact/pack_format.h"
#include "arch/bayes/sim/lanes.h"
#include "arch/bayes/sim/simulator.h"
#include "common/file_io.h"
#include "fixture_helpers.h"
#include "report/layer_dump.h"
#include "report/profile_report.h"

using namespace bpu;

namespace {

// The fixture compiled without the accuracy run, saved as `<name>.bin` in `dir`.
std::string compile_to(const bpu::test::TempDir& dir, const std::string& fixture, const std::string& name,
                       const std::string& extra_model_parameters = "") {
  std::string y = bpu::test::fixture_yaml(bpu::test::data_path(fixture + "/model.onnx"), "o");
  y.replace(y.find("model_parameters:\n"), 18, "model_parameters:\n" + extra_model_parameters);
  CompileResult r = compile_model(parse_config(y, dir.file(name + ".yaml")));
  r.model.compiler_version = kCompilerVersion;
  const std::string path = dir.file(name + ".bin");
  save_model(r.model, path);
  return path;
}

FloatArray fixture_input(const std::string& fixture, int i) {
  return load_npy(bpu::test::data_path(fixture + "/input_" + std::to_string(i) + ".npy"));
}

std::vector<uint8_t> pack_of(const std::vector<std::string>& paths) {
  std::vector<std::pair<std::string, std::vector<uint8_t>>> models;
  for (const auto& p : paths) models.emplace_back(model_name_for_path(p), read_file(p, kMaxBinBytes, "model"));
  return pack_model_files(models);
}

}  // namespace

TEST_CASE("pack: each packed model runs bit-identically to its own .bin and is chosen by name", "[pack]") {
  bpu::test::TempDir dir("pack");
  const std::string a = compile_to(dir, "nonhybrid", "first");
  const std::string b = compile_to(dir, "hybrid", "second");
  const std::string packed = dir.file("both.bin");
  write_file_atomic(packed, pack_of({a, b}));
  CHECK(model_names_in_file(packed) == std::vector<std::string>{"first", "second"});
  CHECK(model_names_in_file(a) == std::vector<std::string>{"first"});
  for (const auto& [path, fixture] : {std::pair{a, "nonhybrid"}, std::pair{b, "hybrid"}}) {
    ModelRunner alone = ModelRunner::from_file(path);
    ModelRunner chosen = ModelRunner::from_file(packed, "", model_name_for_path(path));
    CHECK(serialize_model(chosen.model()) == read_file(path, kMaxBinBytes, "model"));
    for (int i = 0; i < 2; ++i) {
      const std::map<std::string, FloatArray> in{{alone.model().inputs.at(0).name, fixture_input(fixture, i)}};
      auto x = alone.run(in), y = chosen.run(in);
      for (const auto& o : alone.model().outputs) CHECK(x.at(o.name).data == y.at(o.name).data);
    }
  }
  bpu::test::require_error([&] { load_model_file(packed, ""); }, ExitCode::Usage, "packs 2 models (first, second): choose one with --model-name");
  bpu::test::require_error([&] { load_model_file(packed, "third"); }, ExitCode::Usage, "has no model named 'third'; it packs first, second");
  bpu::test::require_error([&] { load_model_file(a, "second"); }, ExitCode::Usage, "holds one model, 'first', not 'second'");
  CHECK(load_model_file(a, "first").inputs.size() == 1);
}

TEST_CASE("pack: refused inputs and damaged packs", "[pack]") {
  bpu::test::TempDir dir("pack_bad");
  const std::string a = compile_to(dir, "nonhybrid", "a");
  std::filesystem::create_directories(dir.file("other"));
  std::filesystem::copy_file(a, dir.file("other/a.bin"));
  bpu::test::require_error([&] { pack_of({a}); }, ExitCode::Usage, "give 2 to 64 models, not 1");
  bpu::test::require_error([&] { pack_of({a, dir.file("other/a.bin")}); }, ExitCode::Usage, "two models are named 'a'");
  std::filesystem::copy_file(a, dir.file("b c.bin"));
  bpu::test::require_error([&] { pack_of({a, dir.file("b c.bin")}); }, ExitCode::Usage, "model name 'b c' holds ' '");
  std::filesystem::copy_file(a, dir.file("b.bin"));
  const std::vector<uint8_t> good = pack_of({a, dir.file("b.bin")});
  write_file_atomic(dir.file("ab.bin"), good);
  bpu::test::require_error([&] { pack_of({dir.file("ab.bin"), a}); }, ExitCode::Usage, "already a packed file");
  CHECK(read_pack_table(good, "ab.bin").size() == 2);
  // Every changed byte of the header and the name table (magic aside, which makes it a non-pack), the padding and
  // sampled model bytes is caught (version, CRC, bounds or padding), and so is truncation.
  const size_t table_end = 64 + 2 * 128;
  std::vector<size_t> positions;
  for (size_t at = 8; at < table_end + 64; ++at) positions.push_back(at);
  for (size_t at = table_end + 64; at < good.size(); at += 997) positions.push_back(at);
  positions.push_back(good.size() - 1);
  for (size_t at : positions) {
    for (uint8_t bit : {uint8_t(0x01), uint8_t(0x80)}) {
      std::vector<uint8_t> bad = good;
      bad[at] ^= bit;
      INFO("byte " << at << " bit " << int(bit));
      bpu::test::require_error([&] { read_pack_table(bad, "ab.bin"); }, ExitCode::Artifact, "packed model file 'ab.bin'");
    }
  }
  std::vector<uint8_t> cut(good.begin(), good.end() - 7);
  bpu::test::require_error([&] { read_pack_table(cut, "ab.bin"); }, ExitCode::Artifact, "recorded file size differs");
}

TEST_CASE("infer: the QAT dump ends in torch's QAT output, the .bin dump in its run, pairs agree within one LSB", "[infer]") {
  bpu::test::TempDir dir("infer");
  for (const std::string fixture : {"nonhybrid", "nonhybrid_int8_output"}) {  // int32 and int8 (fake-quantized) output
    INFO(fixture);
    ModelRunner runner = ModelRunner::from_file(compile_to(dir, fixture, fixture));
    QatReference reference = QatReference::from_file(bpu::test::data_path(fixture + "/model.onnx"));
    const std::string in_name = runner.model().inputs.at(0).name, out_name = runner.model().outputs.at(0).name;
    const std::map<std::string, FloatArray> in{{in_name, fixture_input(fixture, 0)}};
    const auto bin = dump_bin_tensors(runner, in);
    const auto onnx = dump_qat_tensors(reference, in);
    const auto pairs = pair_dumps(bin, onnx);
    const FloatArray golden = load_npy(bpu::test::data_path(fixture + "/qat_output_0.npy"));
    size_t both = 0;
    for (const auto& p : pairs) {
      if (p.tensor == out_name) {
        REQUIRE(p.onnx);
        REQUIRE(p.bin);
        CHECK(bpu::test::max_abs_diff(p.onnx->value.data, golden.data) <= 1e-6);  // torch's QAT output
        CHECK(p.bin->value.data == runner.float_outputs(runner.run(in)).at(out_name).data);
      }
      if (!p.bin || !p.onnx) continue;
      ++both;
      if (p.tensor == in_name) CHECK(p.max_diff == 0);  // both sides hold the input as quantized with torch's rounding
      INFO(p.tensor << " cosine " << p.cosine << " max |diff| " << p.max_diff);
      CHECK(p.cosine >= 0.9999);
    }
    CHECK(both >= 4);  // the input, interior activations and the output
    CHECK(std::any_of(pairs.begin(), pairs.end(), [&](const LayerPair& p) { return p.tensor == out_name && p.bin && p.onnx; }));
    const auto files = dump_file_names(pairs);
    const std::string index = format_layer_index(pairs, files);
    CHECK(index.rfind("tensor,node,shape,bin_file,onnx_file,cosine,max_abs_diff\n", 0) == 0);
    CHECK(index.find("bin/" + npy_file_name(out_name) + ",onnx/" + npy_file_name(out_name)) != std::string::npos);
  }
  // Names that collide once '/' is replaced get distinct files.
  std::vector<DumpedTensor> clash{{"a/b", "", FloatArray{{1}, {1}}}, {"a_b", "", FloatArray{{1}, {2}}}};
  const auto clash_files = dump_file_names(pair_dumps(clash, {}));
  CHECK(clash_files.at(0) != clash_files.at(1));
}

TEST_CASE("layer_out_dump: every quantized activation is an output, values unchanged", "[infer]") {
  bpu::test::TempDir dir("layer_out_dump");
  ModelRunner plain = ModelRunner::from_file(compile_to(dir, "nonhybrid", "plain"));
  ModelRunner dump = ModelRunner::from_file(compile_to(dir, "nonhybrid", "dump", "  layer_out_dump: True\n"));
  REQUIRE(dump.model().outputs.size() > plain.model().outputs.size() + 2);
  const std::map<std::string, FloatArray> in{{plain.model().inputs.at(0).name, fixture_input("nonhybrid", 1)}};
  std::map<std::string, FloatArray> trace;
  auto base = plain.float_outputs(plain.run(in, ConvKernel::Fast, &trace));
  auto all = dump.float_outputs(dump.run(in));
  for (const auto& o : plain.model().outputs) CHECK(all.at(o.name).data == base.at(o.name).data);
  for (const auto& o : dump.model().outputs) {
    if (base.count(o.name)) continue;
    INFO(o.name);
    REQUIRE(trace.count(o.name));
    CHECK(all.at(o.name).data == trace.at(o.name).data);  // the same value the plain build computed inside
  }
}

TEST_CASE("profile: every BPU instruction, CPU node and host step is timed once per run, in execution order", "[infer]") {
  bpu::test::TempDir dir("profile");
  ModelRunner runner = ModelRunner::from_file(compile_to(dir, "hybrid", "h"));
  const std::map<std::string, FloatArray> in{{runner.model().inputs.at(0).name, fixture_input("hybrid", 0)}};
  std::vector<ProfileEntry> a, b;
  const auto plain = runner.run(in);
  const auto timed = runner.run(in, ConvKernel::Fast, nullptr, &a);
  runner.run(in, ConvKernel::Fast, nullptr, &b);
  for (const auto& [name, v] : plain) CHECK(timed.at(name).data == v.data);  // timing changes nothing
  size_t expected = 0;
  for (const auto& step : runner.model().steps) {
    if (step.kind == StepKind::RunBpu) expected += runner.validated().programs[step.segment].size();
    else if (step.kind == StepKind::RunCpu) expected += runner.validated().cpu_graphs[step.segment]->graph().nodes.size();
    else ++expected;
  }
  REQUIRE(a.size() == expected);
  size_t bpu = 0, cpu = 0, host = 0;
  for (const auto& e : a) {
    bpu += e.device == "BPU";
    cpu += e.device == "CPU";
    host += e.device == "host";
    CHECK(e.seconds >= 0);
    CHECK(!e.op.empty());
  }
  CHECK(bpu > 0);
  CHECK(cpu > 0);
  CHECK(host > 0);
  const auto mean = mean_profile({a, b});
  REQUIRE(mean.size() == a.size());
  for (size_t i = 0; i < mean.size(); ++i) CHECK(mean[i].seconds == Approx((a[i].seconds + b[i].seconds) / 2));
  const std::string csv = profile_csv(mean);
  CHECK(csv.rfind("index,device,segment,op,node,time_ms,share\n", 0) == 0);
  CHECK(static_cast<size_t>(std::count(csv.begin(), csv.end(), '\n')) == mean.size() + 1);
  const auto j = nlohmann::json::parse(profile_json(mean, 2));
  CHECK(j["entries"].size() == mean.size());
  double share = 0;
  for (const auto& s : j["segments"]) share += s["share"].get<double>();
  CHECK(share == Approx(1.0));
  a.pop_back();
  bpu::test::require_error([&] { mean_profile({a, b}); }, ExitCode::Internal, "different steps");
}

TEST_CASE("simulator: the fast kernels give the reference kernels' bits on whole networks, one and two threads", "[infer]") {
  // The fast paths (dot kernels, depthwise, rows of 1x1 images as one image, vector ADD, tables) against the plain
  // reference loops, through every instruction of real networks: a ViT (Gemms over token rows), a UNet
  // (ConvTranspose), MobileNetV2 (depthwise), the resize/concat head, ShuffleNet's channel shuffles (TRANSPOSE,
  // RESCALE), YOLO's blocks (stride-2 and 3x3 convolutions on the phase form), MobileNetV3's squeeze-and-excitation
  // scales (MUL of [C,1,1] by small planes as flat blocks).
  bpu::test::TempDir dir("fast_vs_reference");
  for (const std::string fixture : {"zoo_vit", "zoo_unet", "mobilenet_v2", "resize_concat", "zoo_shufflenet_v2_tiny", "zoo_yolo",
                                    "zoo_mobilenet_v3_tiny"}) {
    INFO(fixture);
    const std::string bin = compile_to(dir, fixture, fixture);
    ModelRunner runner = ModelRunner::from_file(bin);
    const std::map<std::string, FloatArray> in{{runner.model().inputs.at(0).name, fixture_input(fixture, 0)}};
    const auto reference = runner.run(in, ConvKernel::Reference);
    for (int threads : {1, 2}) {
      runner.set_threads(threads);
      // Two threads: the first runs measure, the next alternate the lane plan (its own host layout) with the
      // calling thread alone, then the faster is kept; every one of them must give the reference bits, so here
      // each call takes one settling run (by default they all happen within the first call).
      runner.workspace().settle_in_first_call = false;
      const int runs = threads == 1 ? 1 : SimulatorWorkspace::kMeasuringRuns + SimulatorWorkspace::kTrialRuns + 2;
      for (int run = 0; run < runs; ++run) {
        const auto got = runner.run(in, ConvKernel::Fast);
        for (const auto& [name, v] : reference) CHECK(got.at(name).data == v.data);
      }
    }
    runner.set_threads(2);  // by default the first call settles every segment's plan
    const auto got = runner.run(in, ConvKernel::Fast);
    for (const auto& [name, v] : reference) CHECK(got.at(name).data == v.data);
    CHECK_FALSE(runner.workspace().plans.empty());
    for (const auto& [key, plan] : runner.workspace().plans) {
      CHECK(plan.settled());
      CHECK((plan.mode() == SimulatorWorkspace::ProgramPlan::Mode::Plan || plan.mode() == SimulatorWorkspace::ProgramPlan::Mode::Alone));
    }
  }
}

TEST_CASE("simulator: the lane plan keeps every instruction once, lanes independent, lane buffers apart", "[infer]") {
  // YOLO's detection heads are independent branches: with every instruction measured at 10 us, the planner
  // must put them side by side. Checked here against the operands read straight from the instruction table.
  bpu::test::TempDir dir("lanes");
  const CompiledModel model = load_model_file(compile_to(dir, "zoo_yolo", "zoo_yolo"));
  const BpuSegment& seg = model.bpu_segments.at(0);
  const auto program = bayes::decode_program(seg.code.data(), seg.code.size(), "zoo_yolo");
  const LanePlan plan = plan_lanes(seg, program, std::vector<MeasuredInstruction>(program.size(), {10e-6, false}));
  std::vector<int> seen(program.size(), 0);
  int lane_steps = 0;
  for (const LaneStep& step : plan.steps) {
    for (const auto* list : {&step.first, &step.second}) {
      for (size_t k = 0; k < list->size(); ++k) {
        ++seen.at((*list)[k]);
        if (k > 0) CHECK((*list)[k - 1] < (*list)[k]);  // program order within a lane
      }
    }
    if (step.second.empty()) continue;
    ++lane_steps;
    std::vector<uint32_t> lane_buffers[2];
    for (int lane = 0; lane < 2; ++lane) {
      for (uint32_t i : lane == 0 ? step.first : step.second) {
        std::vector<uint32_t> reads, writes;
        bayes::buffer_operands(program[i].body, &reads, &writes);
        lane_buffers[lane].insert(lane_buffers[lane].end(), reads.begin(), reads.end());
        lane_buffers[lane].insert(lane_buffers[lane].end(), writes.begin(), writes.end());
      }
    }
    for (uint32_t a : step.first) {
      for (uint32_t b : step.second) CHECK(independent(instruction_operands(program[a]), instruction_operands(program[b])));
    }
    for (uint32_t a : lane_buffers[0]) {  // in the host layout, no cache line of lane 0's buffers is lane 1's
      for (uint32_t b : lane_buffers[1]) {
        if (a == b) continue;
        const BpuBuffer &x = plan.buffers.at(a), &y = plan.buffers.at(b);
        const uint64_t x0 = x.offset / 64 * 64, x1 = (x.offset + x.size + 63) / 64 * 64;
        const uint64_t y0 = y.offset / 64 * 64, y1 = (y.offset + y.size + 63) / 64 * 64;
        CHECK((x1 <= y0 || y1 <= x0));
      }
    }
  }
  for (int n : seen) CHECK(n == 1);
  CHECK(lane_steps >= 2);
  REQUIRE(plan.buffers.size() == seg.buffers.size());
  for (const BpuBuffer& b : plan.buffers) CHECK(b.offset + b.size <= plan.arena_size);
}

TEST_CASE("simulator: MUL over many short rows (a per-channel scale on small planes) equals the element definition", "[infer]") {
  // The squeeze-and-excitation scale [C,1,1] x [C,H,W]: either input may be the per-channel one, 8 or 16 bits,
  // planes of 1-63 elements (flat blocks) and 64 (per-row calls), over more than one 4096-element block.
  for (const bool scale_first : {true, false}) {
    for (const DType type : {DType::Int8, DType::Int16}) {
      for (const int64_t plane : {1, 4, 15, 63, 64}) {
        INFO((scale_first ? "a" : "b") << " per channel, " << dtype_name(type) << ", plane " << plane);
        const int64_t C = 1500, size = dtype_size(type);
        BpuSegment seg;
        auto add = [&](Shape shape, uint64_t offset) {
          BpuBuffer b;
          b.info.dtype = type;
          b.info.shape = shape;
          b.info.scales = {1.0f};
          b.offset = offset;
          b.size = static_cast<uint64_t>(checked_element_count(shape, "t", ExitCode::Internal) * size);
          seg.buffers.push_back(b);
        };
        add({1, C, 1, 1}, 0);
        add({1, C, plane, 1}, static_cast<uint64_t>(C * size));
        add({1, C, plane, 1}, static_cast<uint64_t>(C * size * (1 + plane)));
        seg.arena_size = static_cast<uint64_t>(C * size * (1 + 2 * plane));
        seg.input_buffers = {0, 1};
        seg.input_values = {"scale", "x"};
        seg.output_buffers = {2};
        seg.output_values = {"y"};
        bayes::Mul m;
        m.input_a = scale_first ? 0 : 1;
        m.input_b = scale_first ? 1 : 0;
        m.output = 2;
        m.multiplier = 1518500250;
        m.shift = 37;
        m.clamp_lo = static_cast<int32_t>(dtype_min(type));
        m.clamp_hi = static_cast<int32_t>(dtype_max(type));
        const std::vector<bayes::Instruction> program{{bayes::Opcode::Mul, 0, m}};
        std::mt19937 rng(static_cast<uint32_t>(plane * 7 + (scale_first ? 1 : 2)));
        std::uniform_int_distribution<int> code(static_cast<int>(dtype_min(type)), static_cast<int>(dtype_max(type)));
        std::map<std::string, HostTensor> values;
        values["scale"] = HostTensor{seg.buffers[0].info, {}, {}};
        values["x"] = HostTensor{seg.buffers[1].info, {}, {}};
        for (int64_t c = 0; c < C; ++c) values["scale"].q.push_back(code(rng));
        for (int64_t i = 0; i < C * plane; ++i) values["x"].q.push_back(code(rng));
        const RequantParams p{m.multiplier, m.shift, 0};
        for (const int threads : {1, 2}) {
          SimulatorWorkspace workspace(threads);
          BpuSimulator sim(seg, program, ConvKernel::Fast, &workspace);
          const auto got = sim.run(values).at("y").q;
          REQUIRE(got.size() == static_cast<size_t>(C * plane));
          int64_t wrong = 0;
          for (int64_t i = 0; i < C * plane; ++i) {
            const int64_t want = apply_requant(int64_t{values["scale"].q[static_cast<size_t>(i / plane)]} *
                                                   values["x"].q[static_cast<size_t>(i)], p, m.clamp_lo, m.clamp_hi);
            wrong += got[static_cast<size_t>(i)] != want;
          }
          CHECK(wrong == 0);
        }
      }
    }
  }
}
