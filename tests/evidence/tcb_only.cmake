# DCAP quotes appraised with a PCS TCB info alone (collateral_scope "tcb-info-only"): the
# teekit and go-tdx-guest statuses of MANIFEST.md, negatives, and `cloak evidence verify
# --tcb-info` through the built binary.
cloak_test(test_tcb_only SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_tcb_only.c
           ${CMAKE_CURRENT_SOURCE_DIR}/dcap_testlib.c LABELS evidence)
target_compile_definitions(test_tcb_only PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")
add_dependencies(test_tcb_only cloak-cli)
