/* cloak-enclave-runner: placeholder until the runtime lands. */
#include <stdio.h>
int main(void)
{
    fprintf(stderr, "cloak-enclave-runner: not implemented yet\n");
    return 1;
}
