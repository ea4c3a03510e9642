/* bpu-mapper's C runtime API, in the spirit of Horizon's libdnn: load a compiled .bin, list its inputs and
   outputs (shape, element type, scales, layout), allocate tensors, run inferences, release. Every function
   returns a bpu_status_t (0 = ok, else the exit-code class of lib/common/error.h) and, on failure, leaves a
   one-line message for the calling thread in bpu_get_last_error(). Link with bpu_mapper::runtime; docs/api.md.

   Host data is always float32 in C order: inputs are quantized and outputs dequantized by the runtime exactly
   as `bpu-mapper run` does, so the dtype and scales reported are what the .bin records for that tensor. */
#ifndef BPU_MAPPER_RUNTIME_H
#define BPU_MAPPER_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include "bpu_mapper/version.h"

#if defined(__GNUC__)
#define BPU_MAPPER_API __attribute__((visibility("default")))
#else
#define BPU_MAPPER_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
  BPU_OK = 0,
  BPU_ERR_USAGE = 2,        /* bad argument: null pointer, index out of range, wrong tensor count or shape */
  BPU_ERR_CONFIG = 3,
  BPU_ERR_MODEL = 4,
  BPU_ERR_UNSUPPORTED = 5,
  BPU_ERR_ACCURACY = 6,
  BPU_ERR_IO = 7,           /* file missing or unreadable */
  BPU_ERR_ARTIFACT = 8,     /* .bin corrupt, truncated or for another march */
  BPU_ERR_INTERNAL = 70     /* a bug in bpu-mapper (or out of memory) */
} bpu_status_t;

typedef enum { BPU_DTYPE_FLOAT32 = 1, BPU_DTYPE_INT8 = 2, BPU_DTYPE_INT16 = 3, BPU_DTYPE_INT32 = 4 } bpu_dtype_t;
typedef enum { BPU_LAYOUT_ROW_MAJOR = 0, BPU_LAYOUT_NCHW = 1 } bpu_layout_t;

#define BPU_MAX_RANK 8

/* A model input or output. `name` and `scales` point into the model and stay valid until bpu_model_release. */
typedef struct {
  const char* name;
  bpu_dtype_t dtype;      /* element type the .bin records (host data is float32 regardless) */
  int32_t rank;
  int64_t dims[BPU_MAX_RANK];
  int64_t element_count;
  int32_t scale_count;    /* 0 for float32 tensors, 1 per tensor, else per channel along scale_axis */
  const float* scales;
  int32_t scale_axis;
  bpu_layout_t layout;
} bpu_tensor_properties_t;

/* A host buffer for one input or output: bpu_tensor_alloc fills properties and allocates `count` floats. */
typedef struct {
  bpu_tensor_properties_t properties;
  float* data;
  size_t count;
} bpu_tensor_t;

typedef struct bpu_model bpu_model_t;

BPU_MAPPER_API const char* bpu_version(void);
/* The calling thread's last failure message ("" when none). */
BPU_MAPPER_API const char* bpu_get_last_error(void);
/* "ok", "usage", "artifact", ... for a status code. */
BPU_MAPPER_API const char* bpu_status_name(int status);

/* Reads and validates a .bin completely; *model is NULL on failure. */
BPU_MAPPER_API int bpu_model_load(const char* path, bpu_model_t** model);
/* The same for model `model_name` of a packed file (bpu-mapper pack); NULL or "" for a plain .bin. */
BPU_MAPPER_API int bpu_model_load_named(const char* path, const char* model_name, bpu_model_t** model);
BPU_MAPPER_API int bpu_model_release(bpu_model_t* model);
/* Simulator worker threads (results are identical for every count). Default 1. */
BPU_MAPPER_API int bpu_model_set_threads(bpu_model_t* model, int32_t threads);

BPU_MAPPER_API int bpu_model_get_input_count(const bpu_model_t* model, int32_t* count);
BPU_MAPPER_API int bpu_model_get_output_count(const bpu_model_t* model, int32_t* count);
BPU_MAPPER_API int bpu_model_get_input_properties(const bpu_model_t* model, int32_t index, bpu_tensor_properties_t* out);
BPU_MAPPER_API int bpu_model_get_output_properties(const bpu_model_t* model, int32_t index, bpu_tensor_properties_t* out);
/* Index of the input (or output) called `name`; BPU_ERR_USAGE naming the known tensors when there is none. */
BPU_MAPPER_API int bpu_model_get_input_index(const bpu_model_t* model, const char* name, int32_t* index);
BPU_MAPPER_API int bpu_model_get_output_index(const bpu_model_t* model, const char* name, int32_t* index);

/* Allocates a zeroed float32 buffer for input (is_output = 0) or output (is_output = 1) `index`. */
BPU_MAPPER_API int bpu_tensor_alloc(const bpu_model_t* model, int is_output, int32_t index, bpu_tensor_t* tensor);
BPU_MAPPER_API int bpu_tensor_free(bpu_tensor_t* tensor);

/* One inference: inputs[i] holds model input i, outputs[j] receives output j (both as allocated above; every
   input and output must be given, with its model shape). One model runs one inference at a time; use one
   model per thread to run in parallel. */
BPU_MAPPER_API int bpu_model_infer(bpu_model_t* model, const bpu_tensor_t* inputs, int32_t input_count,
                                   bpu_tensor_t* outputs, int32_t output_count);

/* .npy helpers for examples and tools: reads a float32/float64 .npy into a new tensor (properties.name is
   NULL, dtype float32, layout row-major; free with bpu_tensor_free); writes a tensor's data as float32 .npy. */
BPU_MAPPER_API int bpu_npy_load(const char* path, bpu_tensor_t* tensor);
BPU_MAPPER_API int bpu_npy_save(const char* path, const bpu_tensor_t* tensor);

#ifdef __cplusplus
}
#endif

#endif
