# Intel DCAP quotes (SGX v3/v4, TDX v4/v5): every real quote in the vectors, negatives,
# simulated quotes, collateral-based TCB status, and a bit-flip walk.
set(DCAP_TESTLIB ${CMAKE_CURRENT_SOURCE_DIR}/dcap_testlib.c)

cloak_test(test_dcap SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_dcap.c ${DCAP_TESTLIB}
           LABELS evidence)
target_compile_definitions(test_dcap PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")

# Needs the collateral module (collateral.c, tcb.c): expected statuses from MANIFEST.md.
cloak_test(test_dcap_collateral SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_dcap_collateral.c
           ${DCAP_TESTLIB} LABELS evidence)
target_compile_definitions(test_dcap_collateral PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")

# Every bit of every real quote's signed region and signature data up to the QE auth data:
# ~200,000 verifications, so not in the "unit" set the ASan pass runs.
cloak_test(test_dcap_flips SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_dcap_flips.c ${DCAP_TESTLIB}
           LABELS evidence)
target_compile_definitions(test_dcap_flips PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")
set_tests_properties(test_dcap_flips PROPERTIES LABELS "evidence;slow" TIMEOUT 900)
