// Console options for tests: the real worker (the `migsbyu` binary this build made, since a test
// binary cannot be its own worker) and the personal columns of the fixture and the lake.
//
// Threading: a plain function.
#pragma once

#include "analytics/console.h"

namespace migsbyu::analytics::testing {

// The `migsbyu` binary of this build.
const char* MigsbyuBinary();

// time_limit 10 s, memory 1 GiB, 2 workers and 8 queued, personal columns address and
// date_of_birth (oltp::PiiColumnNames(), which `migsbyu serve` uses, names the same two).
ConsoleOptions TestConsoleOptions();

}  // namespace migsbyu::analytics::testing
