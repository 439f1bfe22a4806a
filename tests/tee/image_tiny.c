/* A tiny shared object: the enclave code that test_image signs. It is only hashed and
 * signed, never loaded. */
int cloak_test_tiny_answer(void);
int cloak_test_tiny_answer(void)
{
    return 42;
}
