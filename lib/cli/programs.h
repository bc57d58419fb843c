// The option tables of the govstream programs, one function per program,
// each defined in its own file (programs_<name>.cc). The tools parse with
// these, and man/ and completions/ are generated from them.
#ifndef GOVSTREAM_CLI_PROGRAMS_H_
#define GOVSTREAM_CLI_PROGRAMS_H_

#include "cli/spec.h"

namespace govstream::cli {

const ProgramSpec& StreamFilterSpec();
const ProgramSpec& StreamAggSpec();
const ProgramSpec& StreamWindowSpec();
const ProgramSpec& StreamAlertSpec();
const ProgramSpec& MqBrokerSpec();
const ProgramSpec& MqPubSpec();
const ProgramSpec& MqSubSpec();

}  // namespace govstream::cli

#endif  // GOVSTREAM_CLI_PROGRAMS_H_
