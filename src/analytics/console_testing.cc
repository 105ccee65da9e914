#include "analytics/console_testing.h"

namespace migsbyu::analytics::testing {

const char* MigsbyuBinary() { return MIGSBYU_BINARY; }

ConsoleOptions TestConsoleOptions() {
  ConsoleOptions options;
  options.worker_program = MIGSBYU_BINARY;
  // Generous, so that no ordinary query meets it on a loaded machine: the tests of the limit
  // set their own.
  options.time_limit = std::chrono::milliseconds(10000);
  options.personal_columns = {"address", "date_of_birth"};
  return options;
}

}  // namespace migsbyu::analytics::testing
