/* cloak enclave edger8r (placeholder until its implementation lands) */
#include "cli.h"
#include <stdio.h>
int cmd_enclave_edger8r(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloak enclave edger8r: not implemented yet\n");
    return CLI_FAIL;
}
