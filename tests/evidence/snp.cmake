# SEV-SNP: every real report in the vectors, the negatives, and a bit-flip walk.
cloak_test(test_snp SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_snp.c LABELS evidence)
target_compile_definitions(test_snp PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")

# Thousands of P-384 verifications: not part of the "unit" set the ASan pass runs.
cloak_test(test_snp_flips SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_snp_flips.c LABELS evidence)
target_compile_definitions(test_snp_flips PRIVATE CLOAK_VECTORS="${CLOAK_VECTORS}")
set_tests_properties(test_snp_flips PROPERTIES LABELS "evidence;slow")
