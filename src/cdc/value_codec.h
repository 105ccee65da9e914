// Text-form PostgreSQL values to typed events::Value: the one place where pgoutput's text values
// and COPY's text fields become typed, so a snapshot row and a streamed row of the same table
// decode identically.
//
// Input is the server's output-function text under DateStyle=ISO and TimeZone=UTC (the
// replication and snapshot sessions set both). Infinite dates and timestamps ("infinity",
// "-infinity") map to INT64_MAX and INT64_MIN.
//
// Threading: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"
#include "events/change_event.h"

namespace migsbyu::cdc {

// The ValueType for a PostgreSQL type OID; kText for any type not decoded specially.
events::ValueType ValueTypeForOid(uint32_t type_oid);

// Parses `text` as a value of `type`. kInvalidArgument naming the text when it does not parse.
Result<events::Value> ParseTextValue(events::ValueType type, std::string_view text);

}  // namespace migsbyu::cdc
