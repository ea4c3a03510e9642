// The Python module `bpu_mapper` over the public C++ API (include/bpu_mapper/): compile(config_path),
// Model(path) with .inputs/.outputs/.run({name: ndarray}) -> {name: ndarray}, verify(...), check(...).
// Inputs are read in place when they are C-contiguous float32 (otherwise converted once), copied once into the
// runtime's buffers; outputs are handed to numpy without a copy; run() releases the GIL. docs/api.md.

#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "bpu_mapper/compiler.hpp"

namespace py = pybind11;
using namespace bpu_mapper;

namespace {

using FloatInput = py::array_t<float, py::array::c_style | py::array::forcecast>;

py::dict desc_dict(const TensorDesc& d) {
  py::dict o;
  o["name"] = d.name;
  o["dtype"] = d.dtype;
  o["shape"] = py::tuple(py::cast(d.shape));
  o["scales"] = d.scales;
  o["axis"] = d.axis;
  o["layout"] = d.layout;
  return o;
}

py::list desc_list(const std::vector<TensorDesc>& v) {
  py::list l;
  for (const auto& d : v) l.append(desc_dict(d));
  return l;
}

TensorMap to_tensors(const py::dict& inputs) {
  TensorMap feed;
  for (const auto& [key, value] : inputs) {
    FloatInput a = FloatInput::ensure(value);
    if (!a) throw Error(BPU_ERR_USAGE, "input '" + py::str(key).cast<std::string>() + "' is not convertible to a float32 array");
    Tensor t;
    t.shape.assign(a.shape(), a.shape() + a.ndim());
    t.data.assign(a.data(), a.data() + a.size());
    feed[py::str(key).cast<std::string>()] = std::move(t);
  }
  return feed;
}

// Moves the result's buffer into the array (freed when numpy drops it): no copy.
py::array to_array(Tensor&& t) {
  auto* data = new std::vector<float>(std::move(t.data));
  py::capsule owner(data, [](void* p) { delete static_cast<std::vector<float>*>(p); });
  return py::array_t<float>(t.shape, data->data(), owner);
}

py::dict compile_dict(const CompileResult& r) {
  py::dict o;
  o["bin_path"] = r.bin_path;
  o["report_json"] = r.report_json_path;
  py::list placement;
  for (const auto& p : r.placement) {
    placement.append(py::dict(py::arg("node") = p.node, py::arg("op_type") = p.op_type, py::arg("device") = p.device,
                              py::arg("subgraph") = p.subgraph, py::arg("reason_code") = p.reason_code, py::arg("reason") = p.reason));
  }
  o["placement"] = placement;
  py::list nodes, outputs;
  for (const auto& n : r.node_accuracy) {
    nodes.append(py::dict(py::arg("node") = n.node, py::arg("op_type") = n.op_type, py::arg("device") = n.device,
                          py::arg("tensor") = n.tensor, py::arg("cosine") = n.cosine, py::arg("threshold") = n.threshold));
  }
  for (const auto& a : r.output_accuracy) {
    outputs.append(py::dict(py::arg("output") = a.output, py::arg("cosine") = a.cosine, py::arg("l1") = a.l1, py::arg("l2") = a.l2,
                            py::arg("chebyshev") = a.chebyshev, py::arg("cosine_vs_qat") = a.cosine_vs_qat,
                            py::arg("identical_vs_qat") = a.identical_vs_qat, py::arg("max_lsb_vs_qat") = a.max_lsb_vs_qat));
  }
  o["node_accuracy"] = nodes;
  o["output_accuracy"] = outputs;
  o["accuracy_sample"] = r.accuracy_sample;
  o["placement_table"] = r.placement_table;
  o["placement_summary"] = r.placement_summary;
  o["accuracy_tables"] = r.accuracy_tables;
  o["warnings"] = r.warnings;
  o["seconds"] = r.seconds;
  return o;
}

py::list agreement_list(const std::vector<TensorAgreement>& v) {
  py::list l;
  for (const auto& a : v) {
    l.append(py::dict(py::arg("tensor") = a.tensor, py::arg("node") = a.node, py::arg("cosine") = a.cosine,
                      py::arg("max_diff") = a.max_diff, py::arg("max_lsb") = a.max_lsb, py::arg("identical") = a.identical,
                      py::arg("within") = a.within, py::arg("exact") = a.exact,
                      py::arg("bin_codes_vs_exact") = a.bin_codes_vs_exact, py::arg("qat_codes_vs_exact") = a.qat_codes_vs_exact,
                      py::arg("bin_max_lsb_vs_exact") = a.bin_max_lsb_vs_exact,
                      py::arg("qat_max_lsb_vs_exact") = a.qat_max_lsb_vs_exact));
  }
  return l;
}

}  // namespace

PYBIND11_MODULE(bpu_mapper, m) {
  m.doc() = "bpu-mapper: compile QAT ONNX models for the simulated bayes BPU and run the .bin (docs/api.md)";
  m.attr("__version__") = version();
  static py::exception<Error> error_type(m, "Error", PyExc_RuntimeError);
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const Error& e) {
      py::object inst = py::reinterpret_borrow<py::object>(error_type.ptr())(e.what());
      inst.attr("code") = e.code();
      PyErr_SetObject(error_type.ptr(), inst.ptr());
    }
  });

  m.def("compile", [](const std::string& config) {
    CompileResult r;
    {
      py::gil_scoped_release release;
      r = compile(config);
    }
    return compile_dict(r);
  }, py::arg("config_path"), "makertbin: compile the YAML config; returns bin_path, placement rows and accuracy tables");

  m.def("check", [](const std::string& onnx, const std::map<std::string, std::vector<int64_t>>& shapes) {
    CompileResult r;
    {
      py::gil_scoped_release release;
      r = check(onnx, shapes);
    }
    return compile_dict(r);
  }, py::arg("onnx_path"), py::arg("input_shapes") = std::map<std::string, std::vector<int64_t>>{},
        "checker: placement of a bare ONNX model; writes nothing");

  m.def("pack", &pack_models, py::arg("bin_paths"), py::arg("out_path"),
        "hb_pack: several .bin files into one packed file; returns the model names (file names without .bin)");
  m.def("model_names", &model_names, py::arg("path"), "the models a .bin or packed file holds");
  m.def("infer", [](const std::string& bin, const std::string& onnx, const py::dict& inputs, const std::string& out_dir,
                    const std::string& model_name) {
    TensorMap feed = to_tensors(inputs);
    InferResult r;
    {
      py::gil_scoped_release release;
      r = infer(bin, onnx, feed, out_dir, model_name);
    }
    py::list rows;
    for (const auto& row : r.rows) {
      py::dict d;
      d["tensor"] = row.tensor;
      d["node"] = row.node;
      d["shape"] = py::tuple(py::cast(row.shape));
      d["bin_file"] = row.bin_file;
      d["onnx_file"] = row.onnx_file;
      d["compared"] = row.compared;
      d["cosine"] = row.cosine;
      d["max_diff"] = row.max_diff;
      rows.append(d);
    }
    py::dict o;
    o["rows"] = rows;
    o["index_path"] = r.index_path;
    return o;
  }, py::arg("bin_path"), py::arg("onnx_path"), py::arg("inputs"), py::arg("output_dir"), py::arg("model_name") = "",
        "bpu-mapper infer: every tensor of the .bin and/or QAT ONNX run as .npy, paired by name");

  m.def("verify", [](const std::string& bin, const std::string& onnx, const py::dict& inputs, double tolerance, bool isolated,
                     bool exact) {
    TensorMap feed = to_tensors(inputs);
    VerifyResult r;
    {
      py::gil_scoped_release release;
      r = verify(bin, onnx, feed, tolerance, isolated, {}, "", exact);
    }
    py::dict o;
    o["passed"] = r.passed;
    o["first_diverging_node"] = r.first_diverging_node;
    o["outputs"] = agreement_list(r.outputs);
    o["nodes"] = agreement_list(r.nodes);
    o["text"] = r.text;
    return o;
  }, py::arg("bin_path"), py::arg("onnx_path"), py::arg("inputs"), py::arg("tolerance_lsb") = 1.0, py::arg("isolated") = false,
        py::arg("exact") = false, "run the .bin and its QAT ONNX on the same inputs and compare tensor by tensor "
        "(exact: also against the QAT graph in float64, docs/numerics.md §10)");

  py::class_<Model>(m, "Model")
      .def(py::init([](const std::string& path, const std::string& model_name) { return Model::load(path, "", model_name); }),
           py::arg("path"), py::arg("model_name") = "")
      .def_property_readonly("path", &Model::path)
      .def_property_readonly("inputs", [](const Model& self) { return desc_list(self.inputs()); })
      .def_property_readonly("outputs", [](const Model& self) { return desc_list(self.outputs()); })
      .def("set_threads", &Model::set_threads, py::arg("threads"))
      .def("info", &Model::info)
      .def("run", [](const Model& self, const py::dict& inputs) {
        TensorMap feed = to_tensors(inputs);
        TensorMap result;
        {
          py::gil_scoped_release release;
          result = self.run(feed);
        }
        py::dict out;
        for (auto& [name, t] : result) out[py::str(name)] = to_array(std::move(t));
        return out;
      }, py::arg("inputs"), "one inference: {name: ndarray} -> {name: float32 ndarray}")
      .def("profile", [](const Model& self, const py::dict& inputs, int runs) {
        TensorMap feed = to_tensors(inputs);
        ProfileResult p;
        {
          py::gil_scoped_release release;
          p = self.profile(feed, runs);
        }
        py::dict o;
        o["total_ms"] = p.total_ms;
        o["runs"] = p.runs;
        o["csv"] = p.csv;
        o["json"] = p.json;
        o["summary"] = p.summary;
        return o;
      }, py::arg("inputs"), py::arg("runs") = 5,
         "run --profile-path: mean host time per BPU instruction, CPU node and host step (dict: total_ms, csv, json, summary)")
      .def("estimate", [](const Model& self) {
        PerfEstimate e = self.estimate();
        py::dict o;
        o["latency_ms"] = e.latency_ms;
        o["fps"] = e.fps;
        o["macs"] = e.macs;
        o["ddr_load_bytes"] = e.ddr_load_bytes;
        o["ddr_store_bytes"] = e.ddr_store_bytes;
        o["bpu_segments"] = e.bpu_segments;
        o["cpu_segments"] = e.cpu_segments;
        o["text"] = e.text;
        return o;
      });
}
