# The trust's QE memo and byte-compared chain cache (evidence_int.h): results that are reused
# never let a changed byte through, and everything checked per call still is.
cloak_test(test_dcap_memo SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_dcap_memo.c ${DCAP_TESTLIB}
           LABELS evidence)
target_compile_definitions(test_dcap_memo PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")
