/* cloak enclave info (placeholder until its implementation lands) */
#include "cli.h"
#include <stdio.h>
int cmd_enclave_info(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloak enclave info: not implemented yet\n");
    return CLI_FAIL;
}
