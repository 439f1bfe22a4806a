/* cloak enclave keygen (placeholder until its implementation lands) */
#include "cli.h"
#include <stdio.h>
int cmd_enclave_keygen(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloak enclave keygen: not implemented yet\n");
    return CLI_FAIL;
}
