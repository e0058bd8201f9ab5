# MAMBA2_FUZZ: every library is compiled with libFuzzer's coverage instrumentation and ASan +
# UBSan; tests/fuzz links the fuzz executables. Only the fuzzers are built in this mode.
if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "MAMBA2_FUZZ needs clang (libFuzzer), not ${CMAKE_CXX_COMPILER_ID}: "
                      "configure with -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_C_COMPILER=clang")
endif()
# vptr checks need the type info of the uninstrumented libtbb (see MAMBA2_SANITIZE); every other
# UB check aborts, so libFuzzer records it as a crash.
add_compile_options(-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize=vptr
                    -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
set(MAMBA2_FUZZ_LINK_OPTIONS -fsanitize=fuzzer,address,undefined -fno-sanitize=vptr)
set(MAMBA2_BUILD_TESTS OFF)
set(MAMBA2_BUILD_BENCH OFF)
# The GCC-only -Wno-* options some targets add (-Wno-maybe-uninitialized) are unknown to clang.
add_compile_options(-Wno-unknown-warning-option)
# -O1 with line tables, as OSS-Fuzz builds: half the compile time of -O3 -g, and the fuzzers
# spend their time in the sanitizers' checks anyway.
set(CMAKE_CXX_FLAGS_RELWITHDEBINFO "-O1 -gline-tables-only -DNDEBUG")
set(CMAKE_CXX_FLAGS_RELEASE "-O1 -gline-tables-only -DNDEBUG")
