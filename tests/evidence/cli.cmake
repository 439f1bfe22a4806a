cloak_test(test_evidence_cli SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_evidence_cli.c LABELS evidence)
add_dependencies(test_evidence_cli cloak-cli hello_enclave-signed)
