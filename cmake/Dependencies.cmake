# Every dependency is a Debian 12 package (scripts/install-deps.sh installs them).
find_package(Threads REQUIRED)
find_package(TBB REQUIRED)
find_package(xsimd 8.1 REQUIRED)
# xsimd is header-only; its package config also names xtl, which its headers do not need.
add_library(mamba2_xsimd INTERFACE)
get_target_property(XSIMD_INCLUDE_DIRS xsimd INTERFACE_INCLUDE_DIRECTORIES)
target_include_directories(mamba2_xsimd INTERFACE ${XSIMD_INCLUDE_DIRS})
find_package(nlohmann_json 3.11 REQUIRED)
find_package(CLI11 REQUIRED)

find_package(PkgConfig REQUIRED)
pkg_check_modules(PCRE2 REQUIRED IMPORTED_TARGET libpcre2-8)
pkg_check_modules(UTF8PROC REQUIRED IMPORTED_TARGET libutf8proc)
pkg_check_modules(LIBEDIT REQUIRED IMPORTED_TARGET libedit)
# cpp-httplib for mamba2-server; Debian builds it as a library (with OpenSSL, zlib and brotli).
pkg_check_modules(HTTPLIB REQUIRED IMPORTED_TARGET cpp-httplib)
# hiredis, the Redis client behind mamba2-server --redis.
pkg_check_modules(HIREDIS REQUIRED IMPORTED_TARGET hiredis)
# libzip by pkg-config: its CMake package needs the separate zipcmp/zipmerge/ziptool tools.
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
# SentencePiece .model files are encoded and decoded by the library itself, the reference.
pkg_check_modules(SENTENCEPIECE REQUIRED IMPORTED_TARGET sentencepiece)

# Debian ships the pthread OpenBLAS as the default cblas; we only need the C interface.
find_path(CBLAS_INCLUDE_DIR cblas.h PATH_SUFFIXES openblas-pthread openblas REQUIRED)
find_library(OPENBLAS_LIBRARY NAMES openblas REQUIRED)
add_library(mamba2_cblas_header INTERFACE)
# SYSTEM: openblas_config.h uses C99 _Complex, which clang's -Wpedantic reports in C++.
target_include_directories(mamba2_cblas_header SYSTEM INTERFACE ${CBLAS_INCLUDE_DIR})
# Linked: training, and tests and benchmarks that call it themselves.
add_library(mamba2_openblas INTERFACE)
target_link_libraries(mamba2_openblas INTERFACE mamba2_cblas_header ${OPENBLAS_LIBRARY})
# Opened at run time by the kernels (kernels/openblas.h), by the name the dynamic linker would use.
# (libopenblas.so is the -dev package's link; its SONAME, libopenblas.so.0, is what users have.)
execute_process(COMMAND ${CMAKE_OBJDUMP} -p "${OPENBLAS_LIBRARY}" OUTPUT_VARIABLE OPENBLAS_HEADERS
                ERROR_QUIET)
string(REGEX MATCH "SONAME +([^\n]+)" OPENBLAS_SONAME_LINE "${OPENBLAS_HEADERS}")
set(OPENBLAS_SONAME "${CMAKE_MATCH_1}")
if(NOT OPENBLAS_SONAME)
  get_filename_component(OPENBLAS_SONAME "${OPENBLAS_LIBRARY}" NAME)
endif()

if(MAMBA2_BUILD_TESTS)
  find_package(GTest REQUIRED)
endif()
if(MAMBA2_BUILD_BENCH)
  find_package(benchmark REQUIRED)
endif()
