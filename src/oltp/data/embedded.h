// The generator's word lists, built into the binary from the files of src/oltp/data.
//
// Files (one entry a line, UTF-8, tab-separated columns where the name ends in .tsv):
//   first_names_male.txt, first_names_female.txt, last_names.txt: person names;
//   street_names.txt, street_suffixes.txt, cities.tsv (city, state, first three ZIP digits);
//   department_codes.txt: the prototype's department codes, one a line;
//   department_names.tsv (code, name): the name MigsbyU gives each of those codes;
//   words.txt: the vocabulary of course names.
// src/oltp/data/embed.cmake turns them into a C++ source at build time, so `migsbyu` runs from
// any directory without them.
//
// Threading: immutable static data; safe from any thread.
#pragma once

#include <string_view>

namespace migsbyu::oltp::data {

// The whole text of the data file `name` (e.g. "last_names.txt"); empty if there is none.
std::string_view File(std::string_view name);

}  // namespace migsbyu::oltp::data
