// The bayes LUT instruction's int8 -> int8 case: y[k] = table[x[k] + 128] over a 256-entry byte table. The
// reference is the plain loop; with AVX-512 VBMI (checked at run time) 64 values at a time by two 128-byte
// VPERMI2B lookups and a select on the index's top bit; else with AVX2 32 at a time by sixteen VPSHUFB lookups of
// 16-byte chunks. Tested identical to the loop.
#pragma once

#include <cstddef>
#include <cstdint>

namespace bpu::kernels {

void lut_int8_reference(const int8_t* table, const int8_t* x, size_t n, int8_t* y);
// The VBMI form where this CPU has AVX-512 VBMI (and BPU_NO_AVX512 is not set), else the AVX2 form (unless
// BPU_NO_AVX2), else the reference.
void lut_int8(const int8_t* table, const int8_t* x, size_t n, int8_t* y);
bool lut_int8_vector_available();

}  // namespace bpu::kernels
