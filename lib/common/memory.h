// Handing freed heap pages back to the system between the compiler's phases: a phase's transient copies of a
// large model (parsed protobufs, staged models) would otherwise stay resident and add to the next phase's peak.
#pragma once

namespace bpu {

// Returns free heap memory to the operating system (glibc's malloc_trim; a no-op elsewhere).
void release_free_memory();

}  // namespace bpu
