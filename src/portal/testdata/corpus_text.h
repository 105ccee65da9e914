// The escapes of hostile_requests.test's byte strings (\r \n \t \\ \xNN), undone: shared by the
// parser's test and its fuzz target, which seeds itself from the same file.
#pragma once

#include <string>
#include <string_view>

namespace migsbyu::portal::http {

inline std::string UnescapeCorpusText(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\\' || i + 1 == text.size()) {
      out.push_back(text[i]);
      continue;
    }
    char kind = text[++i];
    if (kind == 'r') {
      out.push_back('\r');
    } else if (kind == 'n') {
      out.push_back('\n');
    } else if (kind == 't') {
      out.push_back('\t');
    } else if (kind == 'x' && i + 2 < text.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(text.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(kind);
    }
  }
  return out;
}

}  // namespace migsbyu::portal::http
