/* cloak enclave sign (placeholder until its implementation lands) */
#include "cli.h"
#include <stdio.h>
int cmd_enclave_sign(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloak enclave sign: not implemented yet\n");
    return CLI_FAIL;
}
