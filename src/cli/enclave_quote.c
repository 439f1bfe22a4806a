/* cloak enclave quote (placeholder until its implementation lands) */
#include "cli.h"
#include <stdio.h>
int cmd_enclave_quote(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    fprintf(stderr, "cloak enclave quote: not implemented yet\n");
    return CLI_FAIL;
}
