// Reading a profile written by `modelcut profile`: measured microseconds per
// node, by node name. Only "format", "version" and "nodes" matter here; the
// rest (machine, runtime, runs) is for people. Every malformed file ends in
// one line naming the file and what is wrong with it.
#include <cmath>
#include <fstream>
#include <sstream>

#include "modelcut/error.h"
#include "modelcut/plan.h"

#if MODELCUT_HAVE_JSON
#include <nlohmann/json.hpp>
#endif

namespace modelcut {

#if MODELCUT_HAVE_JSON
namespace {

// A profile names each node once; a model of millions of nodes is far
// beyond what ONNX Runtime profiles, so this bounds memory on hostile input.
constexpr std::uintmax_t kMaxProfileBytes = 512ull << 20;
constexpr int kMaxDepth = 16;

}  // namespace

NodeTimes read_profile(const std::filesystem::path& path) {
  const std::string label = quoted(path.string());
  check_input_file(path);
  std::error_code error;
  const auto size = std::filesystem::file_size(path, error);
  if (error) fail("cannot read the profile ", label, ": ", error.message());
  if (size > kMaxProfileBytes) fail("the profile ", label, " is larger than ", kMaxProfileBytes >> 20, " MB");
  std::ifstream file(path, std::ios::binary);
  if (!file) fail("cannot open the profile ", label);
  std::ostringstream text;
  if (size > 0 && !(text << file.rdbuf())) fail("cannot read the profile ", label);

  using Json = nlohmann::json;
  const Json::parser_callback_t limit = [&](int depth, Json::parse_event_t event, Json&) {
    if ((event == Json::parse_event_t::object_start || event == Json::parse_event_t::array_start) &&
        depth >= kMaxDepth) {
      fail("the profile ", label, " is nested more than ", kMaxDepth, " deep; it is not a modelcut profile");
    }
    return true;
  };
  Json json;
  try {
    json = Json::parse(text.str(), limit);
  } catch (const Json::exception& parse_error) {
    fail("the profile ", label, " is not valid JSON (", parse_error.what(), ")");
  }
  if (!json.is_object() || !json.contains("format") || json["format"] != "modelcut-profile") {
    fail("the profile ", label, " is not a modelcut profile (no \"format\": \"modelcut-profile\"); write one with ",
         "`modelcut profile MODEL -o times.json`");
  }
  if (!json.contains("version") || !json["version"].is_number_integer() || json["version"] != 1) {
    fail("the profile ", label, " has version ",
         json.contains("version") ? json["version"].dump() : std::string("(none)"), "; this modelcut reads version 1");
  }
  if (!json.contains("nodes") || !json["nodes"].is_object()) {
    fail("the profile ", label, " has no \"nodes\" object of times per node");
  }
  NodeTimes times;
  times.source = label;
  if (json.contains("model")) times.model = json["model"].is_string() ? json["model"].get<std::string>() : json["model"].dump();
  for (const auto& [name, value] : json["nodes"].items()) {
    if (!value.is_number()) {
      fail("the profile ", label, " gives node ", quoted(name), " the time ", value.dump(),
           "; times must be numbers of microseconds");
    }
    const double microseconds = value.get<double>();
    if (!std::isfinite(microseconds) || microseconds < 0) {
      fail("the profile ", label, " gives node ", quoted(name), " the time ", value.dump(),
           "; times must be finite, non-negative microseconds");
    }
    times.microseconds[name] = microseconds;
  }
  return times;
}
#else
NodeTimes read_profile(const std::filesystem::path& path) {
  fail("cannot read the profile ", quoted(path.string()),
       ": this build of modelcut has no JSON reader (configure it with nlohmann_json)");
}
#endif

}  // namespace modelcut
