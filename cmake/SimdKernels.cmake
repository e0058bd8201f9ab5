# SIMD kernels: every source in a kernel list is compiled once per x86 instruction set, each
# with its own flags and MAMBA2_SIMD_ARCH naming the xsimd architecture to instantiate. The
# baseline code picks one at run time with kernels::dispatch (kernels/simd.h says why not
# xsimd::dispatch), so the binary runs on any x86-64 CPU and still uses AVX-512 where the CPU
# has it.
set(MAMBA2_SIMD_ARCHS sse2 avx2 avx512)
set(MAMBA2_SIMD_FLAGS_sse2 "-msse2")
set(MAMBA2_SIMD_FLAGS_avx2 "-mavx2;-mfma;-mf16c")
set(MAMBA2_SIMD_FLAGS_avx512 "-mavx512f;-mavx512cd;-mavx512dq;-mavx512bw;-mavx512vl;-mfma;-mf16c")
set(MAMBA2_SIMD_XSIMD_sse2 "xsimd::sse2")
set(MAMBA2_SIMD_XSIMD_avx2 "xsimd::fma3<xsimd::avx2>")
set(MAMBA2_SIMD_XSIMD_avx512 "xsimd::avx512bw")

# mamba2_add_simd_sources(target [GROUP name] source...): compiles the sources once per
# architecture into object libraries linked into target. A second call for the same target names
# its own GROUP, which keeps the object libraries' names apart.
function(mamba2_add_simd_sources target)
  cmake_parse_arguments(PARSE_ARGV 1 simd "" "GROUP" "")
  set(prefix ${target})
  if(simd_GROUP)
    set(prefix ${target}_${simd_GROUP})
  endif()
  foreach(arch IN LISTS MAMBA2_SIMD_ARCHS)
    set(objects ${prefix}_simd_${arch})
    add_library(${objects} OBJECT ${simd_UNPARSED_ARGUMENTS})
    target_compile_options(${objects} PRIVATE ${MAMBA2_SIMD_FLAGS_${arch}})
    target_compile_definitions(${objects} PRIVATE "MAMBA2_SIMD_ARCH=${MAMBA2_SIMD_XSIMD_${arch}}")
    target_include_directories(${objects} PRIVATE ${PROJECT_SOURCE_DIR}
                                                  ${PROJECT_SOURCE_DIR}/include)
    target_link_libraries(${objects} PRIVATE mamba2_xsimd)
    set_target_properties(${objects} PROPERTIES POSITION_INDEPENDENT_CODE ON)
    mamba2_set_warnings(${objects})
    # GCC 12 reports the placeholders inside its own AVX-512 intrinsics (_mm512_undefined_*,
    # reached through xsimd's exp) as uninitialized: maybe- in release, certainly with sanitizers.
    target_compile_options(${objects} PRIVATE -Wno-maybe-uninitialized -Wno-uninitialized)
    target_sources(${target} PRIVATE $<TARGET_OBJECTS:${objects}>)
  endforeach()
endfunction()

# mamba2_add_isa_source(target source flag...): one intrinsics file of target compiled with its
# own instruction-set flags; its code must run only after a run-time CPU check.
function(mamba2_add_isa_source target source)
  # GCC 12 reports the placeholders inside its AVX-512 intrinsics as uninitialized.
  set(options ${ARGN} -Wno-maybe-uninitialized -Wno-uninitialized)
  if(MAMBA2_SANITIZE)
    # UBSan's pointer checks on every unrolled load and store made these files most of the
    # sanitize build (clang 14, matmul_quant_avx2.cpp: 48 s of CPU, 10.5 s without them, as with
    # ASan alone); ASan still checks every access, UBSan the arithmetic.
    list(APPEND options -fno-sanitize=pointer-overflow,alignment,null,object-size)
  endif()
  set_source_files_properties(${source} PROPERTIES COMPILE_OPTIONS "${options}")
  target_sources(${target} PRIVATE ${source})
endfunction()
