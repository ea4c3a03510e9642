/* embed MODEL.bin INPUT.npy OUT_DIR: loads a compiled .bin with bpu-mapper's C runtime API
   (bpu_mapper/runtime.h), runs it on one .npy input and writes every output as OUT_DIR/<name>.npy, with the
   names and values `bpu-mapper run` writes. Plain C99 + POSIX, to show the API the way libdnn is used. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <bpu_mapper/runtime.h>

static int check(int status, const char* what) {
  if (status != BPU_OK) fprintf(stderr, "ERROR %s: %s (%s)\n", what, bpu_get_last_error(), bpu_status_name(status));
  return status;
}

/* OUT_DIR/<name with '/' replaced by '_'>.npy */
static char* output_path(const char* dir, const char* name) {
  size_t n = strlen(dir) + strlen(name) + 8;
  char* path = malloc(n);
  if (!path) return NULL;
  snprintf(path, n, "%s/%s.npy", dir, name);
  for (char* p = path + strlen(dir) + 1; *p; ++p) {
    if (*p == '/') *p = '_';
  }
  return path;
}

static int write_outputs(const char* dir, bpu_tensor_t* outputs, int32_t count) {
  if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
    fprintf(stderr, "ERROR cannot create '%s': %s\n", dir, strerror(errno));
    return BPU_ERR_IO;
  }
  for (int32_t j = 0; j < count; ++j) {
    char* path = output_path(dir, outputs[j].properties.name);
    if (!path) return BPU_ERR_INTERNAL;
    int status = check(bpu_npy_save(path, &outputs[j]), "bpu_npy_save");
    if (status == BPU_OK) printf("%s -> %s\n", outputs[j].properties.name, path);
    free(path);
    if (status != BPU_OK) return status;
  }
  return BPU_OK;
}

static int run(const char* model_path, const char* input_path, const char* out_dir) {
  bpu_model_t* model = NULL;
  int status = check(bpu_model_load(model_path, &model), "bpu_model_load");
  if (status != BPU_OK) return status;
  int32_t n_in = 0, n_out = 0;
  bpu_model_get_input_count(model, &n_in);
  bpu_model_get_output_count(model, &n_out);
  bpu_tensor_t input;
  memset(&input, 0, sizeof input);
  bpu_tensor_t* outputs = calloc((size_t)n_out, sizeof(bpu_tensor_t));
  if (n_in != 1) {
    fprintf(stderr, "ERROR '%s' has %d inputs; embed takes a one-input model\n", model_path, (int)n_in);
    status = BPU_ERR_USAGE;
  } else if (!outputs) {
    status = BPU_ERR_INTERNAL;
  } else {
    status = check(bpu_npy_load(input_path, &input), "bpu_npy_load");
  }
  for (int32_t j = 0; status == BPU_OK && j < n_out; ++j) status = check(bpu_tensor_alloc(model, 1, j, &outputs[j]), "bpu_tensor_alloc");
  if (status == BPU_OK) status = check(bpu_model_infer(model, &input, 1, outputs, n_out), "bpu_model_infer");
  if (status == BPU_OK) status = write_outputs(out_dir, outputs, n_out);
  bpu_tensor_free(&input);
  for (int32_t j = 0; outputs && j < n_out; ++j) bpu_tensor_free(&outputs[j]);
  free(outputs);
  bpu_model_release(model);
  return status;
}

int main(int argc, char** argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: embed MODEL.bin INPUT.npy OUT_DIR   (bpu-mapper %s)\n", bpu_version());
    return BPU_ERR_USAGE;
  }
  return run(argv[1], argv[2], argv[3]);
}
