// Internal: the canonical encoding of a value used as a set member or group
// key: compact JSON with object keys sorted, so that values jq considers
// equal encode equally.
#ifndef GOVSTREAM_AGG_CANONICAL_H_
#define GOVSTREAM_AGG_CANONICAL_H_

#include <string>

#include "expr/value.h"

namespace govstream::agg {

void AppendCanonical(const expr::Value& v, std::string* out);

}  // namespace govstream::agg

#endif  // GOVSTREAM_AGG_CANONICAL_H_
