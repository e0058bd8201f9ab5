# cmake -DROOT=<repository> -P CheckAppIncludes.cmake: fails naming every #include in apps/ that
# reaches past the public API: a path into kernels/, quant/, runtime/ or tests/, or one that
# climbs out of apps/ with "..".
file(GLOB_RECURSE sources "${ROOT}/apps/*.cpp" "${ROOT}/apps/*.h")
set(violations "")
foreach(source IN LISTS sources)
  file(STRINGS "${source}" lines REGEX "^[ \t]*#[ \t]*include[ \t]*[\"<]")
  foreach(line IN LISTS lines)
    if(line MATCHES "[\"<](kernels|quant|runtime|tests|apps)/" OR line MATCHES "[\"<][^\">]*\\.\\./")
      file(RELATIVE_PATH relative "${ROOT}" "${source}")
      string(STRIP "${line}" line)
      list(APPEND violations "${relative}: ${line}")
    endif()
  endforeach()
endforeach()
if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "apps may include only public headers (mamba2/...) and their own "
                      "(common/, chat/, bench_report/, server/, forecast/, loadtest/):\n  ${text}")
endif()
