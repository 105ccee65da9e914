// CSV for downloads made by the server (RFC 4180), safe to open in a spreadsheet.
//
// A cell holding a comma, a double quote, CR or LF is quoted, its quotes doubled. A cell that a
// spreadsheet would read as a formula (one starting with =, +, -, @, a tab or CR: CSV formula
// injection) is first prefixed with a single quote, so that it shows as the text it is. Rows end
// with CRLF.
//
// Threading: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace migsbyu::portal {

// The CSV form of one cell's text.
std::string CsvCell(std::string_view text);

// Appends `cells` as one row, CRLF-terminated.
void AppendCsvRow(std::string* out, const std::vector<std::string>& cells);

}  // namespace migsbyu::portal
