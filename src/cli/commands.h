// The commands the native executable runs itself (split, inspect, merge, plan),
// each in its own file, with the options, output and errors of the Python
// command's (python/modelcut/cli.py). Each takes the words after its name.
#pragma once

#include <string>
#include <vector>

#include "cli/arguments.h"
#include "cli/json_output.h"
#include "cli/output.h"
#include "modelcut/modelcut.h"

namespace modelcut::cli {

// Thrown by a command for input only the Python package handles (Keras
// part files to merge are composed by Keras): the whole command line is
// handed to it (see hand_over.h).
struct HandOver {
  std::string reason;  // why Python is needed, for the message when it is missing
};

const CommandSpec& split_spec();
const CommandSpec& inspect_spec();
const CommandSpec& merge_spec();
const CommandSpec& plan_spec();

int run_split(const Arguments& arguments, Output& output);
int run_inspect(const Arguments& arguments, Output& output);
int run_merge(const Arguments& arguments, Output& output);
int run_plan(const Arguments& arguments, Output& output);

// A value as the JSON of every command lists it: {"name", "type", "bytes"}.
Json value_json(const ValueSummary& value);
Json value_list(const std::vector<ValueSummary>& values);

// What split writes, as `split --json` (and `plan --split DIR --json`) print it.
Json split_json(const SplitResult& result);

// The hidden --debug every command accepts after its name, as cli.py adds it.
OptionSpec debug_option();

// --signature NAME, for SavedModels (which the Python package cuts).
OptionSpec signature_option();

// Throws HandOver for a TensorFlow SavedModel directory (one holding
// saved_model.pb or .pbtxt): TensorFlow freezes it, in the Python package.
void hand_over_saved_model(const std::string& model);

}  // namespace modelcut::cli
