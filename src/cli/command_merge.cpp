// `modelcut merge PART... -o FILE`: cli.py's cmd_merge over the core's
// merge_parts. Keras part files are composed by Keras itself in the Python
// package (modelcut.live), so they are handed over to it.
#include "cli/commands.h"
#include "modelcut/file_type.h"
#include "modelcut/modelcut.h"

namespace modelcut::cli {

const CommandSpec& merge_spec() {
  static const CommandSpec spec{
      "merge",
      "compose parts back into one model",
      "",
      {{"parts", "PART", true, "the parts, in chain order"}},
      {
          {{"-o", "--output"}, "output", OptionSpec::Kind::Value, "FILE", "the model to write", {}, false, true},
          {{"--force"},
           "force",
           OptionSpec::Kind::Flag,
           "",
           "replace FILE if it exists (never a part, nor a file a part reads)"},
          {{"-q", "--quiet"}, "quiet", OptionSpec::Kind::Flag, "", "print only the path"},
          debug_option(),
      }};
  return spec;
}

int run_merge(const Arguments& arguments, Output& output) {
  const std::vector<std::string> parts = arguments.all("parts");
  // As api.merge: every part is a regular file before its type is sniffed
  // (reading a FIFO's first bytes would block).
  for (const std::string& part : parts) check_input_file(part);
  std::size_t keras = 0;
  for (const std::string& part : parts) {
    const FileType type = sniff_file_type(part);
    if (type == FileType::KerasZip || type == FileType::Hdf5) ++keras;
  }
  if (keras > 0 && keras == parts.size()) throw HandOver{"Keras parts are composed by Keras"};
  if (keras > 0) fail("merge takes parts of one format: these are Keras and ONNX files");
  const std::vector<std::filesystem::path> paths(parts.begin(), parts.end());
  const MergeResult result = merge_parts(paths, *arguments.value("output"), arguments.flag("force"));
  if (!arguments.flag("quiet")) {
    output.error_line(std::to_string(result.node_count) + " nodes, " + std::to_string(result.initializer_count) +
                      " initializers");
  }
  output.line(result.path.string());
  return 0;
}

}  // namespace modelcut::cli
