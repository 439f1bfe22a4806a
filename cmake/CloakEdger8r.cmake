# Generate typed host/enclave stubs from an EDL file at build time (docs/EDL.md).
#
#   cloak_edger8r(EDL <file.edl> OUT_DIR <dir> [HOST_SOURCES <var>] [TRUSTED_SOURCES <var>])
#
# runs `cloak enclave edger8r` whenever the EDL file or the generator changes, writing
# <dir>/<name>_u.h/_u.c (host side) and <dir>/<name>_t.h/_t.c (enclave side), where <name> is
# the EDL file name without .edl. Only the sides asked for are generated (both when neither
# variable is given). <var> is set to the generated .c file; add it to your target's sources
# and <dir> to its include directories, e.g.
#
#   cloak_edger8r(EDL hello.edl OUT_DIR ${CMAKE_CURRENT_BINARY_DIR}/gen
#                 HOST_SOURCES hello_u TRUSTED_SOURCES hello_t)
#   add_executable(hello-host host.c ${hello_u})
#   target_include_directories(hello-host PRIVATE ${CMAKE_CURRENT_BINARY_DIR}/gen)
#   cloak_add_enclave(hello-enclave SOURCES enclave.c ${hello_t}
#                     INCLUDES ${CMAKE_CURRENT_BINARY_DIR}/gen)
#
# A relative EDL path is relative to the current source directory, a relative OUT_DIR to the
# current binary directory. As with any add_custom_command, the generated files may be used
# only by targets defined in the same directory as this call.
function(cloak_edger8r)
  cmake_parse_arguments(G "" "EDL;OUT_DIR;HOST_SOURCES;TRUSTED_SOURCES" "" ${ARGN})
  if(NOT G_EDL OR NOT G_OUT_DIR)
    message(FATAL_ERROR "cloak_edger8r: EDL <file> and OUT_DIR <dir> are required")
  endif()
  if(G_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "cloak_edger8r: unexpected arguments: ${G_UNPARSED_ARGUMENTS}")
  endif()
  get_filename_component(edl "${G_EDL}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_SOURCE_DIR}")
  get_filename_component(out "${G_OUT_DIR}" ABSOLUTE BASE_DIR "${CMAKE_CURRENT_BINARY_DIR}")
  get_filename_component(name "${edl}" NAME)
  string(REGEX REPLACE "\\.edl$" "" name "${name}")

  set(host OFF)
  set(trusted OFF)
  if(G_HOST_SOURCES)
    set(host ON)
  endif()
  if(G_TRUSTED_SOURCES)
    set(trusted ON)
  endif()
  if(NOT host AND NOT trusted)
    set(host ON)
    set(trusted ON)
  endif()
  set(side_flag)
  set(outputs)
  if(host)
    list(APPEND outputs ${out}/${name}_u.h ${out}/${name}_u.c)
  endif()
  if(trusted)
    list(APPEND outputs ${out}/${name}_t.h ${out}/${name}_t.c)
  endif()
  if(host AND NOT trusted)
    set(side_flag --untrusted)
  elseif(trusted AND NOT host)
    set(side_flag --trusted)
  endif()

  add_custom_command(OUTPUT ${outputs}
    COMMAND $<TARGET_FILE:cloak-cli> enclave edger8r ${side_flag} --out-dir ${out} ${edl}
    DEPENDS ${edl} cloak-cli
    COMMENT "Generating enclave stubs from ${name}.edl"
    VERBATIM)

  if(G_HOST_SOURCES)
    set(${G_HOST_SOURCES} ${out}/${name}_u.c PARENT_SCOPE)
  endif()
  if(G_TRUSTED_SOURCES)
    set(${G_TRUSTED_SOURCES} ${out}/${name}_t.c PARENT_SCOPE)
  endif()
endfunction()
