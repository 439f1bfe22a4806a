# DCAP collateral loading and checks (test_collateral) and TCB evaluation (test_tcb), against
# the dcap-qvl, go-tdx-guest and teekit vectors and the simulation platform.
foreach(t test_collateral test_tcb)
  cloak_test(${t} SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/${t}.c
             ${CMAKE_CURRENT_SOURCE_DIR}/collateral_testlib.c LABELS evidence)
  target_compile_definitions(${t} PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")
endforeach()
