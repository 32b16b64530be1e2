// Python bindings of modelcut's C++ API (the module modelcut._core). Results
// are returned as plain dicts and lists so the Python layer can print them,
// dump them as JSON and document them without wrapper classes.
#include <cxxabi.h>
#include <pybind11/gil_safe_call_once.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <typeinfo>

#include "formats/source_model.h"
#ifdef MODELCUT_HAVE_KERAS
#include "formats/keras/keras_container.h"
#include "formats/keras/keras_model.h"
#endif
#include "modelcut/file_type.h"
#include "modelcut/modelcut.h"
#include "modelcut/partition.h"
#include "modelcut/plan.h"
#include "modelcut/resolve.h"
#include "util/output_files.h"

namespace py = pybind11;

namespace {

// Names and paths from a model file as Python text. NB: bytes that are not
// UTF-8 (a malformed file, or a file name in another encoding) are kept as
// surrogate escapes, as Python does for file names, rather than failing the
// whole call; the command line prints them as \xNN.
py::str text(const std::string& bytes) {
  PyObject* decoded = PyUnicode_DecodeUTF8(bytes.data(), static_cast<Py_ssize_t>(bytes.size()), "surrogateescape");
  if (decoded == nullptr) throw py::error_already_set();
  return py::reinterpret_steal<py::str>(decoded);
}

py::list texts(const std::vector<std::string>& strings) {
  py::list out;
  for (const auto& string : strings) out.append(text(string));
  return out;
}

py::dict to_dict(const modelcut::ValueSummary& value) {
  py::dict out;
  out["name"] = text(value.name);
  out["type"] = text(value.type);
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
    entry["spec"] = text(cut.spec);
    entry["kind"] = cut.kind;
    entry["resolved_name"] = text(cut.resolved_name);
    entry["values"] = texts(cut.values);
    cut_list.append(entry);
  }
  py::list part_list;
  for (const auto& part : result.parts) {
    py::dict entry;
    entry["path"] = text(part.path.string());
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
  out["path"] = text(result.path.string());
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
  out["path"] = text(report.path);
  out["format"] = report.format;
  out["producer"] = text(report.producer);
  out["ir_version"] = report.ir_version;
  out["format_version"] = report.ir_version;  // the same, under a name that fits every format
  py::dict opsets;
  for (const auto& [domain, version] : report.opsets) opsets[text(domain.empty() ? "ai.onnx" : domain)] = version;
  out["opsets"] = opsets;
  out["nodes"] = report.node_count;
  out["initializers"] = report.initializer_count;
  out["inputs"] = to_list(report.inputs);
  out["outputs"] = to_list(report.outputs);
  py::list layers;
  for (const auto& layer : report.layers) {
    py::dict entry;
    entry["name"] = text(layer.name);
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
    entry["layer"] = text(point.layer);
    entry["passed_through"] = texts(point.passed_through);
    entry["crossing_bytes"] = point.bytes_known ? py::cast(point.crossing_bytes) : py::none();
    points.append(entry);
  }
  out["cut_points"] = points;
  return out;
}

// _core.nodes: the dataflow's nodes in planning_order(), as profiles and
// plans name them.
py::list nodes(const std::string& model, const std::vector<py::bytes>& type_hints) {
  const auto hints = as_strings(type_hints);
  std::optional<modelcut::Model> opened;
  {
    py::gil_scoped_release release;
    opened.emplace(modelcut::Model::open(model, hints));
  }
  const modelcut::Dataflow& dataflow = opened->dataflow();
  py::list out;
  for (modelcut::NodeId id : modelcut::planning_order(dataflow)) {
    const modelcut::Node& node = dataflow.node(id);
    std::string layer;
    for (std::size_t i = 0; i < node.scope.size(); ++i) {
      if (i > 0) layer += dataflow.scope_separator;
      layer += node.scope[i];
    }
    py::dict entry;
    entry["name"] = text(node.name);
    entry["op"] = text(node.op);
    entry["layer"] = text(layer);
    out.append(entry);
  }
  return out;
}

modelcut::DimBindings dim_bindings(std::uint64_t batch, const std::map<std::string, std::uint64_t>& dims) {
  if (batch == 0) throw modelcut::Error("the batch size must be at least 1");
  for (const auto& [name, size] : dims) {
    if (size == 0) throw modelcut::Error("the size of the dimension '" + name + "' must be at least 1");
  }
  return modelcut::DimBindings{batch, dims};
}

py::dict to_dict(const modelcut::Plan& plan, double seconds) {
  py::list cuts;
  for (const auto& cut : plan.cuts) {
    py::dict entry;
    entry["spec"] = text(cut.spec);
    entry["values"] = texts(cut.values);
    py::list crossing;
    for (const auto& value : cut.crossing) crossing.append(to_dict(value));
    entry["crossing"] = crossing;
    entry["crossing_bytes"] = cut.crossing_bytes;
    entry["bytes_known"] = cut.bytes_known;
    cuts.append(entry);
  }
  py::list stages;
  for (const auto& stage : plan.stages) {
    py::dict entry;
    entry["first_layer"] = text(stage.first_layer);
    entry["last_layer"] = text(stage.last_layer);
    entry["node_count"] = stage.node_count;
    entry["param_bytes"] = stage.param_bytes;
    entry["macs"] = stage.macs;
    entry["macs_known"] = stage.macs_known;
    entry["time_us"] = stage.time_us;
    entry["transfer_us"] = stage.transfer_us;
    entry["cost"] = stage.cost;
    stages.append(entry);
  }
  py::list sweep;
  for (const auto& row : plan.sweep) {
    py::dict entry;
    entry["bandwidth"] = row.bandwidth;
    entry["latency_s"] = row.latency_s;
    entry["placement"] = row.placement;
    entry["cut_values"] = texts(row.cut_values);
    entry["crossing_bytes"] = row.crossing_bytes;
    sweep.append(entry);
  }
  py::list along;
  for (const auto& position : plan.along) {
    py::dict entry;
    entry["node"] = text(position.node);
    entry["layer"] = text(position.layer);
    entry["op"] = text(position.op);
    entry["cost"] = position.cost;
    entry["alive_bytes"] = position.alive_bytes;
    entry["alive_bytes_known"] = position.alive_bytes_known;
    along.append(entry);
  }
  py::dict out;
  out["kind"] = plan.kind;
  out["objective"] = plan.objective;
  out["cost_unit"] = plan.cost_unit;
  out["cuts"] = cuts;
  out["stages"] = stages;
  out["bottleneck"] = plan.bottleneck;
  out["ideal"] = plan.ideal;
  out["lower_bound"] = plan.lower_bound;
  out["optimal"] = plan.optimal;
  out["latency_s"] = plan.latency_s;
  out["placement"] = plan.placement;
  out["sweep"] = sweep;
  out["along"] = along;
  out["unbound_symbols"] = texts(plan.unbound_symbols);
  out["warnings"] = texts(plan.warnings);
  out["plan_seconds"] = seconds;
  return out;
}

// Runs `plan` on a model opened for it, without the GIL; plan_seconds is the
// planning alone, not the opening of the model.
template <typename Planner>
py::dict plan_model(const std::string& model, const std::vector<py::bytes>& type_hints, Planner&& planner) {
  const auto hints = as_strings(type_hints);
  modelcut::Plan plan;
  double seconds = 0;
  {
    py::gil_scoped_release release;
    const modelcut::Model opened = modelcut::Model::open(model, hints);
    const auto start = std::chrono::steady_clock::now();
    plan = planner(opened);
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return to_dict(plan, seconds);
}

modelcut::Balance balance_named(const std::string& name) {
  if (name == "params") return modelcut::Balance::Params;
  if (name == "flops") return modelcut::Balance::Flops;
  if (name == "time") return modelcut::Balance::Time;
  throw modelcut::Error("unknown balance '" + name + "' (expected params, flops or time)");
}

py::dict plan_pipeline(const std::string& model, const std::vector<py::bytes>& type_hints, std::size_t stages,
                       const std::string& balance, const std::optional<std::string>& profile,
                       std::optional<double> bandwidth, std::optional<std::uint64_t> max_stage_param_bytes,
                       std::optional<std::uint64_t> max_boundary_bytes, std::uint64_t batch,
                       const std::map<std::string, std::uint64_t>& dims) {
  modelcut::PipelineOptions options;
  options.stages = stages;
  options.balance = balance_named(balance);
  options.bandwidth = bandwidth;
  options.max_stage_param_bytes = max_stage_param_bytes;
  options.max_boundary_bytes = max_boundary_bytes;
  options.dims = dim_bindings(batch, dims);
  return plan_model(model, type_hints, [&](const modelcut::Model& opened) {
    if (profile) options.times = modelcut::read_profile(*profile);
    return opened.plan_pipeline(options);
  });
}

// _core.read_profile: a profile file as the planners read it, checked the
// same way, so that Python and the native command refuse a bad one with the
// same line.
py::dict read_profile(const std::string& path) {
  modelcut::NodeTimes times;
  {
    py::gil_scoped_release release;
    times = modelcut::read_profile(path);
  }
  py::dict nodes;
  for (const auto& [name, microseconds] : times.microseconds) nodes[text(name)] = microseconds;
  py::dict out;
  out["model"] = text(times.model);
  out["nodes"] = nodes;
  return out;
}

py::dict plan_device_server(const std::string& model, const std::vector<py::bytes>& type_hints,
                            const std::string& device_profile, const std::string& server_profile, double bandwidth,
                            double rtt, const std::vector<double>& sweep_bandwidths, std::uint64_t batch,
                            const std::map<std::string, std::uint64_t>& dims) {
  modelcut::DeviceServerOptions options;
  options.bandwidth = bandwidth;
  options.rtt = rtt;
  options.sweep_bandwidths = sweep_bandwidths;
  options.dims = dim_bindings(batch, dims);
  return plan_model(model, type_hints, [&](const modelcut::Model& opened) {
    options.device = modelcut::read_profile(device_profile);
    options.server = modelcut::read_profile(server_profile);
    return opened.plan_device_server(options);
  });
}

#ifdef MODELCUT_HAVE_KERAS
// _core.keras_live_cut: a live Keras model's cuts, resolved and partitioned
// by the core exactly as for its saved file, with what the Python side
// (modelcut.live) needs to find each value among the live model's tensors:
// every call of a leaf layer by its path and its position among that
// layer's calls (the "@k" of value names), every value by name.
py::dict keras_live_cut(const std::string& config_json, const std::string& origin,
                        const std::vector<std::string>& cuts) {
  std::unique_ptr<modelcut::keras::KerasModel> model;
  std::vector<modelcut::CutPoint> points;
  std::optional<modelcut::Partition> partition;
  {
    py::gil_scoped_release release;
    model = modelcut::keras::KerasModel::from_config(config_json, origin);
    const modelcut::LayerIndex layers(model->dataflow);
    for (const std::string& spec : cuts) points.push_back(modelcut::resolve_cut(model->dataflow, layers, spec));
    partition.emplace(modelcut::partition_dataflow(model->dataflow, points));
  }
  const modelcut::Dataflow& dataflow = model->dataflow;
  auto summary = [&](modelcut::ValueId id) {
    const modelcut::Value& value = dataflow.value(id);
    return to_dict(modelcut::ValueSummary{value.name, value.info.describe(), value.info.bytes_per_item()});
  };
  auto names = [&](const std::vector<modelcut::ValueId>& ids) {
    py::list out;
    for (modelcut::ValueId id : ids) out.append(text(dataflow.value(id).name));
    return out;
  };
  py::list cut_list;
  for (const modelcut::CutPoint& point : points) {
    py::dict entry;
    entry["spec"] = text(point.spec);
    entry["kind"] = modelcut::to_string(point.kind);
    entry["resolved_name"] = text(point.resolved_name);
    entry["values"] = names(point.values);
    cut_list.append(entry);
  }
  py::list node_list;
  for (modelcut::NodeId id = 0; id < dataflow.nodes().size(); ++id) {
    const auto& call = model->calls[id];
    const auto& layer = model->layers[call.layer];
    const auto position = std::find(layer.calls.begin(), layer.calls.end(), id) - layer.calls.begin();
    py::dict entry;
    entry["name"] = text(dataflow.node(id).name);
    entry["path"] = texts(layer.path);
    entry["call"] = static_cast<std::size_t>(position);
    entry["outputs"] = names(dataflow.node(id).outputs);
    node_list.append(entry);
  }
  py::list part_list;
  for (const modelcut::Part& part : partition->parts) {
    py::list inputs, outputs;
    for (modelcut::ValueId id : part.inputs) inputs.append(summary(id));
    for (modelcut::ValueId id : part.outputs) outputs.append(summary(id));
    py::dict entry;
    entry["nodes"] = py::cast(part.nodes);
    entry["inputs"] = inputs;
    entry["outputs"] = outputs;
    part_list.append(entry);
  }
  py::dict out;
  out["cuts"] = cut_list;
  out["nodes"] = node_list;
  out["graph_inputs"] = names(dataflow.graph_inputs());
  out["graph_outputs"] = names(dataflow.graph_outputs());
  out["parts"] = part_list;
  return out;
}
#endif

// The C++ type of an exception, demangled ("std::out_of_range").
std::string type_name(const std::type_info& type) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(abi::__cxa_demangle(type.name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? name.get() : type.name();
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "modelcut's C++ core: split, merge and inspect ONNX models.";
  py::register_exception<modelcut::Error>(m, "Error", PyExc_ValueError);
  // Any other C++ exception is a bug of ours, not bad input: it becomes an
  // InternalError naming its C++ type, rather than whatever Python type
  // pybind11 maps it to by default (std::length_error to ValueError, say,
  // which the command line would take for bad input). Registered after
  // Error, so it is tried first; what it does not handle goes on.
  PYBIND11_CONSTINIT static py::gil_safe_call_once_and_store<py::object> internal_error;
  internal_error.call_once_and_store_result(
      [&]() { return py::exception<std::exception>(m, "InternalError", PyExc_RuntimeError); });
  py::register_exception_translator([](std::exception_ptr pointer) {
    try {
      if (pointer) std::rethrow_exception(pointer);
    } catch (const modelcut::Error&) {
      throw;
    } catch (const py::error_already_set&) {
      throw;  // a Python exception raised in a callback: passed on as it is
    } catch (const py::builtin_exception&) {
      throw;
    } catch (const std::bad_alloc&) {
      throw;  // MemoryError
    } catch (const std::exception& error) {
      const std::string message = type_name(typeid(error)) + ": " + modelcut::printable(error.what());
      py::set_error(internal_error.get_stored(), message.c_str());
    }
  });
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
      "check_input_file",
      [](const std::string& path) {
        py::gil_scoped_release release;
        modelcut::check_input_file(path);
      },
      py::arg("path"), "Raise Error unless PATH is a regular file (checked before any open).");
  m.def(
      "input_files",
      [](const std::string& model) {
        std::vector<std::filesystem::path> files;
        {
          py::gil_scoped_release release;
          files = modelcut::input_files(model);
        }
        py::list out;
        for (const auto& file : files) out.append(text(file.string()));
        return out;
      },
      py::arg("model"), "Every file reading MODEL involves: the model and its external data files.");
  // Python's writers go through the same output checks and renames as the
  // core's (python/modelcut/outputs.py), so there is one rule for outputs.
  m.def(
      "check_output_path",
      [](const std::string& target, const std::vector<std::string>& inputs, bool overwrite) {
        py::gil_scoped_release release;
        modelcut::check_output_path(target, {inputs.begin(), inputs.end()}, overwrite);
      },
      py::arg("target"), py::arg("inputs"), py::arg("overwrite"),
      "Raise Error unless TARGET may be written: not one of INPUTS nor a folder holding one, not existing unless "
      "OVERWRITE, and only ever a regular file or a folder of them.");
  m.def(
      "temporary_file",
      [](const std::string& target) {
        modelcut::TemporaryFile file(target);
        file.keep();  // the caller writes it, then hands it to replace_file or removes it
        return text(file.path().string());
      },
      py::arg("target"), "A new empty file beside TARGET under a hidden temporary name; its path.");
  m.def(
      "replace_file",
      [](const std::string& temporary, const std::string& target) {
        py::gil_scoped_release release;
        modelcut::replace_file(temporary, target);
      },
      py::arg("temporary"), py::arg("target"),
      "Rename the complete TEMPORARY to TARGET, if what is at TARGET may be replaced.");
  m.def(
      "staging_directory",
      [](const std::string& target) { return text(modelcut::make_staging_directory(target).string()); },
      py::arg("target"), "A new empty folder beside TARGET under a hidden temporary name; its path.");
  m.def(
      "replace_directory",
      [](const std::string& staging, const std::string& target, bool overwrite) {
        py::gil_scoped_release release;
        modelcut::replace_directory(staging, target, overwrite);
      },
      py::arg("staging"), py::arg("target"), py::arg("overwrite"),
      "Move the complete folder STAGING to TARGET, replacing TARGET only with OVERWRITE and only if it may be.");
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
  m.def("nodes", &nodes, py::arg("model"), py::arg("type_hints") = std::vector<py::bytes>{},
        "The nodes of MODEL in the order plans list them (a topological order): name (as profiles name them), op and "
        "layer.");
  m.def("plan_pipeline", &plan_pipeline, py::arg("model"), py::arg("type_hints") = std::vector<py::bytes>{},
        py::arg("stages") = 2, py::arg("balance") = "params", py::arg("profile") = py::none(),
        py::arg("bandwidth") = py::none(), py::arg("max_stage_param_bytes") = py::none(),
        py::arg("max_boundary_bytes") = py::none(), py::arg("batch") = 1,
        py::arg("dims") = std::map<std::string, std::uint64_t>{},
        "The cuts that split MODEL into STAGES pipeline stages whose most expensive stage is cheapest.");
  m.def("plan_device_server", &plan_device_server, py::arg("model"), py::arg("type_hints") = std::vector<py::bytes>{},
        py::arg("device_profile"), py::arg("server_profile"), py::arg("bandwidth"), py::arg("rtt") = 0.0,
        py::arg("sweep_bandwidths") = std::vector<double>{}, py::arg("batch") = 1,
        py::arg("dims") = std::map<std::string, std::uint64_t>{},
        "The device/server split of MODEL with the least predicted latency over a link.");
  m.def("read_profile", &read_profile, py::arg("path"),
        "A profile written by `modelcut profile`: {\"model\": ..., \"nodes\": {name: microseconds}}; Error if "
        "malformed.");
  m.def(
      "file_type", [](const std::string& path) { return modelcut::to_string(modelcut::sniff_file_type(path)); },
      py::arg("path"),
      "What PATH holds by its first bytes: 'onnx', 'keras-zip', 'hdf5', 'not-keras' (named like Keras, "
      "but neither), 'tf-graphdef' (a .pb file holding a TensorFlow GraphDef) or 'not-tf-graph' (a .pb file "
      "that is neither a GraphDef nor ONNX, such as a SavedModel's saved_model.pb).");
#ifdef MODELCUT_HAVE_KERAS
  m.def("keras_live_cut", &keras_live_cut, py::arg("config_json"), py::arg("origin"), py::arg("cuts"),
        "Resolve and partition a Keras model given by its config.json text at CUTS, naming every call and value "
        "so that modelcut.live can find them in the live model.");
  m.def(
      "keras_config",
      [](const std::string& path) {
        std::string config;
        {
          py::gil_scoped_release release;
          config = modelcut::keras::read_model_config(path).dump();
        }
        return text(config);
      },
      py::arg("path"),
      "The config of the Keras model file PATH (.keras config.json, or an .h5 file's model_config) as JSON text, "
      "read by the core within its limits: checked before Keras opens the file.");
#endif
  // What each node costs (owned by the costs work of issue 8; self-contained).
  m.def(
      "node_costs",
      [](const std::string& model, const std::vector<py::bytes>& type_hints, std::uint64_t batch,
         const std::map<std::string, std::uint64_t>& dims) {
        const auto hints = as_strings(type_hints);
        modelcut::DimBindings bindings;
        bindings.batch = batch;
        bindings.symbols = dims;
        std::vector<modelcut::NodeCostSummary> report;
        {
          py::gil_scoped_release release;
          report = modelcut::node_costs_report(model, hints, bindings);
        }
        py::list out;
        for (const auto& node : report) {
          py::dict entry;
          entry["name"] = text(node.name);
          entry["op"] = text(node.op);
          entry["param_bytes"] = node.cost.param_bytes;
          entry["macs"] = node.cost.macs;
          entry["macs_known"] = node.cost.macs_known;
          out.append(entry);
        }
        return out;
      },
      py::arg("model"), py::arg("type_hints") = std::vector<py::bytes>{}, py::arg("batch") = std::uint64_t{1},
      py::arg("dims") = std::map<std::string, std::uint64_t>{},
      "Per node in topological order: name, op, param_bytes, macs and macs_known.");
}
