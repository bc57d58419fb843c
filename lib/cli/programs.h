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

// The AGGREGATE FUNCTIONS section shared by stream-agg(1) and
// stream-window(1): `intro`, then every aggregator of the registry with its
// summary, then how skipped values and evaluation errors are handled.
// Returned by value: keep it in static storage (SectionSpec holds views).
std::string AggregateFunctionsText(std::string_view intro);

}  // namespace govstream::cli

#endif  // GOVSTREAM_CLI_PROGRAMS_H_
