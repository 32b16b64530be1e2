// What several commands share: the hidden --debug, the SavedModel
// --signature, handing SavedModels to the Python package, and values as
// their JSON lists them.
#include <sys/stat.h>

#include "cli/commands.h"

namespace modelcut::cli {

Json value_json(const ValueSummary& value) {
  return Json::object().set("name", value.name).set("type", value.type).set("bytes", value.bytes);
}

Json value_list(const std::vector<ValueSummary>& values) {
  Json list = Json::array();
  for (const ValueSummary& value : values) list.push(value_json(value));
  return list;
}

OptionSpec debug_option() { return {{"--debug"}, "debug", OptionSpec::Kind::Flag, "", ""}; }

OptionSpec signature_option() {
  return {{"--signature"},
          "signature",
          OptionSpec::Kind::Value,
          "NAME",
          "for a SavedModel: the signature to freeze and cut (default serving_default)"};
}

void hand_over_saved_model(const std::string& model) {
  // As modelcut.tf.is_saved_model: a directory with an entry saved_model.pb
  // or .pbtxt, whatever it is (Python says what is wrong with one that is
  // not a regular file, link, FIFO or folder alike).
  struct stat status {};
  if (::stat(model.c_str(), &status) != 0 || !S_ISDIR(status.st_mode)) return;
  for (const char* name : {"/saved_model.pb", "/saved_model.pbtxt"}) {
    if (::lstat((model + name).c_str(), &status) == 0) {
      throw HandOver{"a SavedModel is frozen by TensorFlow"};
    }
  }
}

}  // namespace modelcut::cli
