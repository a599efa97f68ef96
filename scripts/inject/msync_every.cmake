# msync_every.cmake - link scripts/inject/msync_every.c into the benchmark
# drivers (scripts/compare --inject-msync N; a deliberate regression: one
# extra mmf_sync every N appends of a handle). Given to the configure step as
#   -DCMAKE_PROJECT_mmapfile_INCLUDE=<this file> -DMMF_INJECT_MSYNC_EVERY=N
# it runs at the end of project(mmapfile) and defers the change to the end of
# the top folder, when bench/'s targets exist; the sources of the library and
# of the drivers are not touched (ld --wrap redirects the drivers' calls).
include_guard(GLOBAL)
if(NOT MMF_INJECT_MSYNC_EVERY MATCHES "^[1-9][0-9]*$")
  message(FATAL_ERROR "MMF_INJECT_MSYNC_EVERY must be a whole number > 0, got '${MMF_INJECT_MSYNC_EVERY}'")
endif()
set(MMF_INJECT_MSYNC_SOURCE ${CMAKE_CURRENT_LIST_DIR}/msync_every.c)

function(mmf_inject_msync)
  get_property(targets DIRECTORY ${CMAKE_SOURCE_DIR}/bench PROPERTY BUILDSYSTEM_TARGETS)
  set(n 0)
  foreach(t IN LISTS targets)
    get_target_property(type ${t} TYPE)
    get_target_property(libs ${t} LINK_LIBRARIES)
    if(type STREQUAL "EXECUTABLE" AND "mmapfile" IN_LIST libs)
      target_sources(${t} PRIVATE ${MMF_INJECT_MSYNC_SOURCE})
      target_compile_definitions(${t} PRIVATE MMF_INJECT_MSYNC_EVERY=${MMF_INJECT_MSYNC_EVERY}u)
      target_link_options(${t} PRIVATE
        LINKER:--wrap=mmf_open,--wrap=mmf_open_fd,--wrap=mmf_allocate_slice,--wrap=mmf_append_buffer)
      math(EXPR n "${n} + 1")
    endif()
  endforeach()
  if(n EQUAL 0)
    message(FATAL_ERROR "msync_every.cmake: no benchmark driver links mmapfile (nothing injected)")
  endif()
  message(STATUS "injected an extra mmf_sync every ${MMF_INJECT_MSYNC_EVERY} appends into ${n} drivers")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL mmf_inject_msync)
