// The placement reason table (lib/partition/reason.h): unique codes in upper snake case, a description for
// every code, and the generated docs section listing each of them.

#include <set>

#include "partition/reason.h"
#include "test_helpers.h"

using namespace bpu;

TEST_CASE("reasons: every code is unique, named and described in the generated docs", "[partition][docs]") {
  std::set<std::string> codes;
  const std::string docs = placement_reasons_markdown();
  for (const ReasonInfo& r : kPlacementReasons) {
    const std::string code = r.code;
    INFO(code);
    CHECK(codes.insert(code).second);
    CHECK(code.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string::npos);
    CHECK(reason_name(r.reason) == code);
    CHECK(std::string(reason_description(r.reason)).size() > 10);
    CHECK(std::string(r.description).find('|') == std::string::npos);
    CHECK(docs.find("| `" + code + "` | " + r.description + " |\n") != std::string::npos);
  }
  CHECK(codes.count("NO_QUANT_INPUT") == 1);
  CHECK(codes.count("FUSED") == 1);
}
