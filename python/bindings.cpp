// Python bindings of modelcut's C++ API (the module modelcut._core). Results
// are returned as plain dicts and lists so the Python layer can print them,
// dump them as JSON and document them without wrapper classes.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "modelcut/modelcut.h"

namespace py = pybind11;

namespace {

py::dict to_dict(const modelcut::ValueSummary& value) {
  py::dict out;
  out["name"] = value.name;
  out["type"] = value.type;
  out["bytes"] = value.bytes ? py::cast(*value.bytes) : py::none();
  return out;
}

py::list to_list(const std::vector<modelcut::ValueSummary>& values) {
  py::list out;
  for (const auto& value : values) out.append(to_dict(value));
  return out;
}

std::vector<std::string> as_strings(const std::vector<py::bytes>& blobs) {
  std::vector<std::string> out;
  for (const auto& blob : blobs) out.push_back(std::string(blob));
  return out;
}

modelcut::WeightMode weight_mode(const std::string& name) {
  if (name == "auto") return modelcut::WeightMode::Auto;
  if (name == "inline") return modelcut::WeightMode::Inline;
  if (name == "external") return modelcut::WeightMode::External;
  if (name == "in-place") return modelcut::WeightMode::InPlace;
  throw modelcut::Error("unknown weights mode '" + name + "' (expected auto, inline, external or in-place)");
}

py::dict split(const std::string& model, const std::vector<std::string>& cuts, const std::string& output_dir,
               bool overwrite, const std::vector<py::bytes>& type_hints, const std::string& weights,
               std::uint64_t external_threshold, const py::object& progress) {
  modelcut::SplitOptions options;
  options.cuts = cuts;
  options.output_dir = output_dir;
  options.overwrite = overwrite;
  options.type_hints = as_strings(type_hints);
  options.weights.mode = weight_mode(weights);
  options.weights.external_threshold = external_threshold;
  if (!progress.is_none()) {
    options.progress = [progress](std::size_t part, std::uint64_t done, std::uint64_t total) {
      py::gil_scoped_acquire acquire;
      progress(part, done, total);
    };
  }
  modelcut::SplitResult result;
  {
    py::gil_scoped_release release;
    result = modelcut::split_model(model, options);
  }
  py::list cut_list;
  for (const auto& cut : result.cuts) {
    py::dict entry;
    entry["spec"] = cut.spec;
    entry["kind"] = cut.kind;
    entry["resolved_name"] = cut.resolved_name;
    entry["values"] = cut.values;
    cut_list.append(entry);
  }
  py::list part_list;
  for (const auto& part : result.parts) {
    py::dict entry;
    entry["path"] = part.path.string();
    entry["nodes"] = part.node_count;
    entry["initializers"] = part.initializer_count;
    entry["inputs"] = to_list(part.inputs);
    entry["outputs"] = to_list(part.outputs);
    part_list.append(entry);
  }
  py::dict out;
  out["cuts"] = cut_list;
  out["parts"] = part_list;
  return out;
}

// modelcut.resolve: what each cut name resolves to, without writing parts.
py::list resolve(const std::string& model, const std::vector<std::string>& cuts,
                 const std::vector<py::bytes>& type_hints) {
  const auto hints = as_strings(type_hints);
  std::vector<modelcut::CutSummary> summaries;
  {
    py::gil_scoped_release release;
    summaries = modelcut::resolve_cuts(model, cuts, hints);
  }
  py::list out;
  for (const auto& cut : summaries) {
    py::dict entry;
    entry["spec"] = cut.spec;
    entry["kind"] = cut.kind;
    entry["resolved_name"] = cut.resolved_name;
    entry["values"] = cut.values;
    out.append(entry);
  }
  return out;
}

py::dict merge(const std::vector<std::string>& parts, const std::string& output, bool overwrite) {
  std::vector<std::filesystem::path> paths(parts.begin(), parts.end());
  modelcut::MergeResult result;
  {
    py::gil_scoped_release release;
    result = modelcut::merge_parts(paths, output, overwrite);
  }
  py::dict out;
  out["path"] = result.path.string();
  out["nodes"] = result.node_count;
  out["initializers"] = result.initializer_count;
  return out;
}

py::dict inspect(const std::string& model, const std::vector<py::bytes>& type_hints) {
  const auto hints = as_strings(type_hints);
  modelcut::InspectReport report;
  {
    py::gil_scoped_release release;
    report = modelcut::inspect_model(model, hints);
  }
  py::dict out;
  out["path"] = report.path;
  out["format"] = report.format;
  out["producer"] = report.producer;
  out["ir_version"] = report.ir_version;
  py::dict opsets;
  for (const auto& [domain, version] : report.opsets) opsets[py::str(domain.empty() ? "ai.onnx" : domain)] = version;
  out["opsets"] = opsets;
  out["nodes"] = report.node_count;
  out["initializers"] = report.initializer_count;
  out["inputs"] = to_list(report.inputs);
  out["outputs"] = to_list(report.outputs);
  py::list layers;
  for (const auto& layer : report.layers) {
    py::dict entry;
    entry["name"] = layer.name;
    entry["depth"] = layer.depth;
    entry["nodes"] = layer.node_count;
    entry["outputs"] = to_list(layer.outputs);
    layers.append(entry);
  }
  out["layers"] = layers;
  py::list points;
  for (const auto& point : report.cut_points) {
    py::dict entry;
    entry["value"] = to_dict(point.value);
    entry["layer"] = point.layer;
    entry["passed_through"] = point.passed_through;
    entry["crossing_bytes"] = point.bytes_known ? py::cast(point.crossing_bytes) : py::none();
    points.append(entry);
  }
  out["cut_points"] = points;
  return out;
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "modelcut's C++ core: split, merge and inspect ONNX models.";
  py::register_exception<modelcut::Error>(m, "Error", PyExc_ValueError);
  m.def("split", &split, py::arg("model"), py::arg("cuts"), py::arg("output_dir"), py::arg("overwrite") = false,
        py::arg("type_hints") = std::vector<py::bytes>{}, py::arg("weights") = "auto",
        py::arg("external_threshold") = std::uint64_t{1} << 30, py::arg("progress") = py::none(),
        "Cut MODEL after each name in CUTS and write the parts into OUTPUT_DIR.");
  m.def("resolve", &resolve, py::arg("model"), py::arg("cuts"), py::arg("type_hints") = std::vector<py::bytes>{},
        "What each name in CUTS resolves to in MODEL, without writing anything.");
  m.def("merge", &merge, py::arg("parts"), py::arg("output"), py::arg("overwrite") = false,
        "Compose a chain of parts back into one model.");
  m.def("inspect", &inspect, py::arg("model"), py::arg("type_hints") = std::vector<py::bytes>{},
        "Layers and candidate cut points of MODEL.");
  m.def(
      "structure_only",
      [](const std::string& model) {
        std::string bytes;
        {
          py::gil_scoped_release release;
          bytes = modelcut::structure_only(model);
        }
        return py::bytes(bytes);
      },
      py::arg("model"), "MODEL without its large weights, for shape inference.");
}
