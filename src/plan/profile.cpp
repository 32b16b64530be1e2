// Reading a profile written by `modelcut profile`: measured microseconds per
// node, by node name. Only "format", "version" and "nodes" matter here; the
// rest (machine, runtime, runs) is for people. Every malformed file ends in
// one line naming the file and what is wrong with it.
//
// The file is parsed as a stream of JSON events (SAX) and only the node
// times are kept, so memory grows with the nodes, never with a document
// tree of the whole file (which took some 13 bytes per byte of file: a
// 320 MB profile needed 4 GB). Both the file's size and its count of nodes
// are capped. Problems found on the way are reported after the whole file
// has parsed, in the order a reader of the complete document checks them.
#include <cmath>
#include <fstream>
#include <set>

#include "modelcut/error.h"
#include "modelcut/plan.h"

#if MODELCUT_HAVE_JSON
#include <nlohmann/json.hpp>
#endif

namespace modelcut {

#if MODELCUT_HAVE_JSON
namespace {

// A profile names each node once, in some 30 bytes per node; a million
// nodes is far beyond the graphs ONNX Runtime profiles (large language
// models have some 10^4 to 10^5), and the two caps bound memory on hostile
// input to about 200 MB.
constexpr std::uintmax_t kMaxProfileBytes = 64ull << 20;
constexpr std::size_t kMaxProfileNodes = 1000000;
constexpr int kMaxDepth = 16;
// A value quoted in a message (a time that is no number, a version) is cut
// to this many bytes.
constexpr std::size_t kMaxShownBytes = 80;

using Json = nlohmann::json;

std::string shown(std::string text) {
  if (text.size() > kMaxShownBytes) text = text.substr(0, kMaxShownBytes) + "...";
  return text;
}

// The events of one profile, keeping what read_profile returns and what its
// checks need. Top level: depth 1; a node's time: depth 2 inside "nodes".
class ProfileEvents : public nlohmann::json_sax<Json> {
 public:
  explicit ProfileEvents(const std::string& label) : label_(label) {}

  bool null() override { return scalar("null"); }
  bool boolean(bool value) override { return scalar(value ? "true" : "false"); }
  bool number_integer(number_integer_t value) override { return number(static_cast<double>(value), Json(value)); }
  bool number_unsigned(number_unsigned_t value) override { return number(static_cast<double>(value), Json(value)); }
  bool number_float(number_float_t value, const string_t&) override { return number(value, Json(value)); }
  bool string(string_t& value) override {
    if (depth_ == 1 && key_ == "format") format_ok_ = value == "modelcut-profile";
    if (depth_ == 1 && key_ == "model") model_ = value;
    return scalar(Json(value).dump());
  }
  bool binary(binary_t&) override { return scalar("?"); }  // CBOR and such only; never in JSON text

  bool start_object(std::size_t) override { return open('{'); }
  bool start_array(std::size_t) override { return open('['); }
  bool end_object() override { return close(); }
  bool end_array() override { return close(); }

  bool key(string_t& name) override {
    if (depth_ == 1) {
      key_ = name;
      if (name == "nodes") {  // a key given twice counts once, with its last value
        times_.clear();
        bad_.clear();
        nodes_is_object_ = false;
      }
    } else if (in_nodes()) {
      node_ = name;
    }
    return true;
  }

  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& error) override {
    syntax_error_ = error.what();
    return false;
  }

  // Checks what was read, as a reader of the complete document would, and
  // returns the times.
  NodeTimes finish() {
    if (!syntax_error_.empty()) fail("the profile ", label_, " is not valid JSON (", syntax_error_, ")");
    if (!top_is_object_ || !format_ok_) {
      fail("the profile ", label_, " is not a modelcut profile (no \"format\": \"modelcut-profile\"); write one with ",
           "`modelcut profile MODEL -o times.json`");
    }
    if (!version_ok_) {
      fail("the profile ", label_, " has version ", version_.empty() ? std::string("(none)") : version_,
           "; this modelcut reads version 1");
    }
    if (!nodes_is_object_) fail("the profile ", label_, " has no \"nodes\" object of times per node");
    if (!bad_.empty()) {
      const auto& [name, problem] = *bad_.begin();  // the first by name, as a std::map lists them
      fail("the profile ", label_, " gives node ", quoted(name), " the time ", problem.first, problem.second);
    }
    NodeTimes times;
    times.source = label_;
    times.model = std::move(model_);
    times.microseconds = std::move(times_);
    return times;
  }

 private:
  bool in_nodes() const { return depth_ == 2 && key_ == "nodes" && nodes_is_object_; }

  // A scalar value at the current place (its JSON text in `text`).
  bool scalar(const std::string& text) {
    if (depth_ == 1 && key_ == "version") version_ = shown(text), version_ok_ = false;
    if (depth_ == 1 && key_ == "model" && text.front() != '"') model_ = shown(text);
    if (in_nodes()) bad_time(shown(text), "; times must be numbers of microseconds");
    if (depth_ == 1 && key_ == "format" && text.front() != '"') format_ok_ = false;
    if (depth_ == 0) top_is_object_ = false;
    return true;
  }

  bool number(double value, const Json& json) {
    if (depth_ == 1 && key_ == "version") {
      version_ = shown(json.dump());
      version_ok_ = json.is_number_integer() && json == 1;
      return true;
    }
    if (!in_nodes()) return scalar(json.dump());
    if (!std::isfinite(value) || value < 0) {
      bad_time(shown(json.dump()), "; times must be finite, non-negative microseconds");
      return true;
    }
    bad_.erase(node_);
    times_[node_] = value;
    check_count();
    return true;
  }

  void bad_time(const std::string& text, const char* why) {
    times_.erase(node_);
    bad_[node_] = {text, why};
    check_count();
  }

  void check_count() const {
    if (times_.size() + bad_.size() > kMaxProfileNodes) {
      fail("the profile ", label_, " has times for more than ", kMaxProfileNodes, " nodes; no model has that many");
    }
  }

  bool open(char bracket) {
    if (depth_ >= kMaxDepth) {
      fail("the profile ", label_, " is nested more than ", kMaxDepth, " deep; it is not a modelcut profile");
    }
    const std::string text = bracket == '{' ? "{...}" : "[...]";
    if (depth_ == 0) top_is_object_ = bracket == '{';
    if (depth_ == 1 && key_ == "nodes") nodes_is_object_ = bracket == '{';
    if (depth_ == 1 && key_ != "nodes") scalar(text);  // a version, model or format that is no scalar
    if (in_nodes()) bad_time(text, "; times must be numbers of microseconds");
    ++depth_;
    return true;
  }

  bool close() {
    --depth_;
    return true;
  }

  std::string label_;
  int depth_ = 0;
  std::string key_;   // the current key of the top-level object
  std::string node_;  // the current key of "nodes"
  bool top_is_object_ = false, format_ok_ = false, version_ok_ = false, nodes_is_object_ = false;
  std::string syntax_error_;  // the parser's message, "" while the text is valid
  std::string version_;       // as written, "" when there is none
  std::string model_;
  std::map<std::string, double> times_;
  std::map<std::string, std::pair<std::string, const char*>> bad_;  // a time that is no time, and why
};

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
  ProfileEvents events(label);
  Json::sax_parse(file, &events);
  if (file.bad()) fail("cannot read the profile ", label);
  return events.finish();
}
#else
NodeTimes read_profile(const std::filesystem::path& path) {
  fail("cannot read the profile ", quoted(path.string()),
       ": this build of modelcut has no JSON reader (configure it with nlohmann_json)");
}
#endif

}  // namespace modelcut
