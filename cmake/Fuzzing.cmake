# MAMBA2_FUZZ: the ASan + UBSan build (MAMBA2_SANITIZE) with clang, plus the libFuzzer targets of
# tests/fuzz. The libraries that read untrusted input (quant/, runtime/) and the fuzz targets get
# libFuzzer's coverage instrumentation (MAMBA2_FUZZ_COVERAGE, added by those folders); the
# kernels, apps and tests do not: no fuzzer reads its input through the kernels, and the hooks
# (a call per comparison) would only slow the SIMD files' compile and the sanitized tests. Tests
# link the instrumented libraries without libFuzzer: the ASan runtime defines the hooks.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "MAMBA2_FUZZ needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                      "configure with -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++")
endif()
set(MAMBA2_FUZZ_COVERAGE -fsanitize=fuzzer-no-link)
# vptr checks need the type info of the uninstrumented libtbb (see MAMBA2_SANITIZE); every other
# UB check aborts, so libFuzzer records it as a crash.
set(MAMBA2_FUZZ_LINK_OPTIONS -fsanitize=fuzzer,address,undefined -fno-sanitize=vptr)
