// The bayes-e march (RDK X5 BPU): the bayes family table with X5's limits; see target.cpp.
#pragma once

#include "arch/target.h"

namespace bpu::bayes_e {

const arch::Target& target();

}  // namespace bpu::bayes_e
