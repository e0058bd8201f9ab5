# mamba2_set_warnings(target): the project's warning level, errors in CI (MAMBA2_WERROR).
function(mamba2_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                           -Wno-missing-field-initializers)
  if(MAMBA2_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
