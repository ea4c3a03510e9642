// Names, descriptions and the docs table of placement reason codes, from the table in reason.h.

#include "partition/reason.h"

#include <ostream>
#include <sstream>

namespace bpu {

namespace {

constexpr bool table_in_enum_order() {
  for (size_t i = 0; i < sizeof(kPlacementReasons) / sizeof(kPlacementReasons[0]); ++i) {
    if (static_cast<size_t>(kPlacementReasons[i].reason) != i) return false;
  }
  return true;
}
static_assert(table_in_enum_order(), "kPlacementReasons is indexed by the Reason value");

}  // namespace

const char* reason_name(Reason r) { return kPlacementReasons[static_cast<size_t>(r)].code; }

const char* reason_description(Reason r) { return kPlacementReasons[static_cast<size_t>(r)].description; }

std::ostream& operator<<(std::ostream& os, Reason r) { return os << reason_name(r); }

std::string placement_reasons_markdown() {
  std::ostringstream os;
  os << "## Placement reasons\n\n"
     << "Generated from the reason table in lib/partition/reason.h. Every row of the placement table and of "
        "`<prefix>_placement.json` carries one of these codes, followed by a sentence about the instance.\n\n"
     << "| code | meaning |\n|---|---|\n";
  for (const ReasonInfo& r : kPlacementReasons) os << "| `" << r.code << "` | " << r.description << " |\n";
  return os.str();
}

}  // namespace bpu
