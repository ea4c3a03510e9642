// The bernoulli2 march (RDK X3 / XJ3 BPU): int8 only, the bayes family table with X3's tighter limits; see
// target.cpp and rules.cpp.
#pragma once

#include <vector>

#include "arch/target.h"

namespace bpu::bernoulli2 {

const arch::Target& target();

// X3's own rules (rules.cpp), added to the family table by target.cpp.
arch::Constraint conv_channels();
arch::Constraint conv_dilation();
arch::Constraint deconv_geometry();
arch::Constraint avgpool_kernel();
arch::Constraint global_avgpool_plane();
arch::Constraint add_shapes();
arch::Constraint mul_shapes();
arch::Constraint sigmoid_aligned_size();
arch::Constraint plane_at_most_8192();
arch::Constraint softmax_output_axis1();
arch::Constraint concat_channels();
arch::Constraint split_axis();
arch::Constraint pad_hw_only();
arch::Constraint resize_nearest_power_of_two();
arch::Constraint reduce_mean_hw();
arch::Constraint blocksize_two();

}  // namespace bpu::bernoulli2
