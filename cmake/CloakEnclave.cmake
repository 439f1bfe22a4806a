# Build and sign enclave images.
#
#   cloak_add_enclave(NAME SOURCES a.c b.c [KEY signer.pem] [PRODUCT_ID n] [SVN n] [HEAP bytes]
#                     [DEBUG] [OUTPUT path/enclave.signed] [LIBS ...] [INCLUDES ...] [DEFINES ...])
#
# builds NAME as a shared object (the enclave code) and signs it with `cloak enclave sign`
# into OUTPUT (default: ${CMAKE_CURRENT_BINARY_DIR}/NAME.signed). Without KEY, the build's
# development signing key (${CMAKE_BINARY_DIR}/keys/dev-signer.pem, created on first build)
# is used. The target NAME-signed builds the signed image.
set(CLOAK_DEV_SIGNER ${CMAKE_BINARY_DIR}/keys/dev-signer.pem)
# Created once (only when missing): rebuilding cloak must not change the signer.
add_custom_command(OUTPUT ${CLOAK_DEV_SIGNER}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/keys
  COMMAND $<TARGET_FILE:cloak-cli> enclave keygen -o ${CLOAK_DEV_SIGNER}
  COMMENT "Creating the development enclave signing key")
add_custom_target(cloak-dev-signer DEPENDS ${CLOAK_DEV_SIGNER})
add_dependencies(cloak-dev-signer cloak-cli)

function(cloak_add_enclave NAME)
  cmake_parse_arguments(E "DEBUG" "KEY;PRODUCT_ID;SVN;HEAP;OUTPUT" "SOURCES;LIBS;INCLUDES;DEFINES" ${ARGN})
  if(NOT E_KEY)
    set(E_KEY ${CLOAK_DEV_SIGNER})
    set(key_dep cloak-dev-signer ${CLOAK_DEV_SIGNER})
  else()
    set(key_dep ${E_KEY})
  endif()
  if(NOT E_PRODUCT_ID)
    set(E_PRODUCT_ID 1)
  endif()
  if(NOT E_SVN)
    set(E_SVN 1)
  endif()
  if(NOT E_OUTPUT)
    set(E_OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${NAME}.signed)
  endif()
  set(extra)
  if(E_DEBUG)
    list(APPEND extra --debug)
  endif()
  if(E_HEAP)
    list(APPEND extra --heap ${E_HEAP})
  endif()
  add_library(${NAME} MODULE ${E_SOURCES})
  set_target_properties(${NAME} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  target_include_directories(${NAME} PRIVATE ${PROJECT_SOURCE_DIR}/include ${E_INCLUDES})
  if(E_DEFINES)
    target_compile_definitions(${NAME} PRIVATE ${E_DEFINES})
  endif()
  if(E_LIBS)
    target_link_libraries(${NAME} PRIVATE ${E_LIBS})
  endif()
  add_custom_command(OUTPUT ${E_OUTPUT}
    COMMAND $<TARGET_FILE:cloak-cli> enclave sign --key ${E_KEY} --product-id ${E_PRODUCT_ID}
            --svn ${E_SVN} ${extra} $<TARGET_FILE:${NAME}> -o ${E_OUTPUT}
    DEPENDS ${NAME} cloak-cli ${key_dep}
    COMMENT "Signing enclave ${NAME}")
  add_custom_target(${NAME}-signed ALL DEPENDS ${E_OUTPUT})
endfunction()

include(${CMAKE_CURRENT_LIST_DIR}/CloakEdger8r.cmake OPTIONAL)
