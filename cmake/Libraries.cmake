# The include boundary. Public headers live in include/mamba2/ and are all that apps and users
# see; the internal headers (kernels/, quant/, runtime/, included from the repository root) are
# visible only to the library's own sources and to the tests and benchmarks of its internals.

# mamba2_library_headers(target): include/ for the target and whatever links it, the repository
# root for the target's own sources only.
function(mamba2_library_headers target)
  target_include_directories(${target} PUBLIC ${PROJECT_SOURCE_DIR}/include
                                       PRIVATE ${PROJECT_SOURCE_DIR})
endfunction()

# A build-time check that no app includes an internal header, even by a relative path that the
# include directories would not catch (apps/check_includes.cmake).
function(mamba2_check_app_includes)
  add_custom_target(check_app_includes ALL
                    COMMAND ${CMAKE_COMMAND} -DROOT=${PROJECT_SOURCE_DIR}
                            -P ${PROJECT_SOURCE_DIR}/cmake/CheckAppIncludes.cmake
                    COMMENT "Checking that apps include only public headers"
                    VERBATIM)
endfunction()
