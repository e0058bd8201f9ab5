# Quantized projections (bf16; q8_0, q4_0, q4_K, q5_K, q6_K with integer kernels; every other type
# dequantized in panels), added to mamba2_kernels. Included by kernels/CMakeLists.txt.
#
# matmul_bf16_simd.cpp is an xsimd kernel compiled once per SIMD level like the others. The
# intrinsics files each target one instruction-set extension and get only that file's flags;
# their code runs only after a run-time CPU check (matmul_bf16.cpp, matmul_quant.cpp), so the
# library itself stays baseline x86-64.
target_sources(mamba2_kernels PRIVATE matmul_bf16.cpp matmul_bf16_sgemm.cpp matmul_bf16_tiles.cpp
                                      matmul_dequant.cpp matmul_quant.cpp matmul_quant_scalar.cpp quant_groups.cpp
                                      matmul_q8_0.cpp matmul_q4.cpp interleave.cpp
                                      matmul_dispatch.cpp)

mamba2_add_simd_sources(mamba2_kernels GROUP bf16 matmul_bf16_simd.cpp)

mamba2_add_isa_source(mamba2_kernels matmul_quant_avx2.cpp -mavx2 -mfma -mf16c)
mamba2_add_isa_source(mamba2_kernels matmul_quant_avxvnni.cpp -mavx2 -mfma -mf16c -mavxvnni)
mamba2_add_isa_source(mamba2_kernels matmul_quant_avx512vnni.cpp -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni
                      -mfma -mf16c)
mamba2_add_isa_source(mamba2_kernels quantize_q8_0_avx512.cpp -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni
                      -mfma -mf16c)
mamba2_add_isa_source(mamba2_kernels matmul_q4_avx512vnni.cpp -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni
                      -mfma -mf16c)
mamba2_add_isa_source(mamba2_kernels matmul_bf16_avx512bf16.cpp -mavx512f -mavx512bw -mavx512vl -mavx512bf16
                      -mfma -mf16c)
mamba2_add_isa_source(mamba2_kernels matmul_bf16_amx.cpp -mamx-tile -mamx-bf16 -mavx512f)
