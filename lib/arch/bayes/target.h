// The bayes march (Journey 5 / RDK Ultra BPU): the family table with its own limits; see target.cpp.
#pragma once

#include "arch/target.h"

namespace bpu::bayes {

const arch::Target& target();

}  // namespace bpu::bayes
