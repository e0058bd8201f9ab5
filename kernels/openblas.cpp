#include "kernels/openblas.h"

#include <dlfcn.h>

#include <string>

#include "mamba2/error.h"

namespace mamba2::kernels {
namespace {

void* symbol(void* library, const char* name) {
  void* address = dlsym(library, name);
  if (!address) throw Error(MAMBA2_OPENBLAS_SONAME, std::string("has no ") + name);
  return address;
}

OpenBlas open() {
  // RTLD_LOCAL: its symbols stay out of the global scope, as a linked library's would not, so
  // nothing else resolves against it by accident.
  void* library = dlopen(MAMBA2_OPENBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
  if (!library) {
    const char* reason = dlerror();
    throw Error(MAMBA2_OPENBLAS_SONAME,
                "cannot be opened for the f32 sgemm path: " + std::string(reason ? reason : "?"));
  }
  const OpenBlas blas{reinterpret_cast<decltype(&cblas_sgemm)>(symbol(library, "cblas_sgemm"))};
  reinterpret_cast<decltype(&openblas_set_num_threads)>(
      symbol(library, "openblas_set_num_threads"))(1);
  return blas;  // the library stays open for the process's lifetime
}

}  // namespace

const OpenBlas& openblas() {
  static const OpenBlas blas = open();  // a throw leaves it unset: the next call tries again
  return blas;
}

}  // namespace mamba2::kernels
