// Personal data in the portal's answers: who may see it, and how it is hidden from the others.
//
// The personal fields are those the entity descriptions mark (oltp::Field::pii: address and
// date_of_birth), under the same names wherever they appear: REST records and listings, the
// lake's dimensions, history versions and as-of rows, and the change logs' before_<name> and
// after_<name>. A request whose principal lacks the pii grant sees each non-null one as
// oltp::kMaskedValue ("***"), on every route that returns records, writes included (a create or
// an update echoes the record). A request without a principal (a router without a gate: tests of
// the HTTP layer) sees them masked too: the safe side.
//
// Masking the values is not enough where an answer depends on them: sorting by a personal field
// or searching inside one would tell its order or its words. Routes refuse such a sort (403) and
// leave personal fields out of text search for those principals.
//
// Threading: pure functions.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "portal/router.h"

namespace migsbyu::portal {

// True if the request's principal holds the pii grant.
bool SeesPersonalData(const Request& request);

// True for "address", "date_of_birth", and their "before_"/"after_" forms.
bool IsPersonalColumn(std::string_view name);

// Masks every personal field of `value`: an object's own fields, or those of each object in an
// array. Other values are left as they are.
void MaskPersonalFields(nlohmann::json& value);

// kPermissionDenied naming `parameter` when `column` is personal and the request may not see it.
Status CheckPersonalSort(const Request& request, std::string_view column,
                         const std::string& parameter = "sort");

}  // namespace migsbyu::portal
