// The hidden --debug option that each command accepts after its name.
#include "cli/commands.h"

namespace modelcut::cli {

OptionSpec debug_option() { return {{"--debug"}, "debug", OptionSpec::Kind::Flag, "", ""}; }

}  // namespace modelcut::cli
