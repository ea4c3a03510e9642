// NumPy broadcastability (common/broadcast.h).

#include "common/broadcast.h"

namespace bpu {

bool broadcastable(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t k = 0; k < from.size(); ++k) {
    const int64_t f = from[from.size() - 1 - k], t = to[to.size() - 1 - k];
    if (f != t && f != 1) return false;
  }
  return true;
}

void coalesce_broadcast(Shape& out, Shape& a, Shape& b) {
  const size_t rank = out.size();
  auto aligned = [&](const Shape& s, size_t k) { return k + s.size() >= rank ? s[k + s.size() - rank] : int64_t{1}; };
  Shape o2, a2, b2;
  for (size_t k = 0; k < rank; ++k) {
    if (out[k] == 1) continue;  // an axis of one element moves no index
    const int64_t da = aligned(a, k), db = aligned(b, k);
    if (!o2.empty() && (a2.back() == 1) == (da == 1) && (b2.back() == 1) == (db == 1)) {
      o2.back() *= out[k];
      a2.back() *= da;
      b2.back() *= db;
    } else {
      o2.push_back(out[k]);
      a2.push_back(da);
      b2.push_back(db);
    }
  }
  out = o2, a = a2, b = b2;
}

}  // namespace bpu
