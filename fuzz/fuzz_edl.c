/* libFuzzer target: the EDL parser, and the generator on every file that parses.
 * Any input must give a tree or a "file:line:col: message" error, never a crash or a leak. */
#include "cloak/edl.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cloak_edl *edl = NULL;
    cloak_error why = {0};
    if (cloak_edl_parse((const char *)data, size, "fuzz.edl", &edl, &why) != CLOAK_OK) {
        /* errors carry a position */
        if (strncmp(why.msg, "fuzz.edl:", 9) && why.code != CLOAK_ENOMEM) abort();
        return 0;
    }
    for (int f = CLOAK_EDL_FILE_U_H; f <= CLOAK_EDL_FILE_T_C; f++) {
        char *out = NULL;
        size_t len = 0;
        /* every tree that parses must render (only an allocation may fail) */
        cloak_err rc = cloak_edl_render(edl, "fuzz", (cloak_edl_file)f, &out, &len, &why);
        if (rc == CLOAK_ENOMEM) continue;
        if (rc != CLOAK_OK || strlen(out) != len) abort(); /* no NUL inside generated text */
        free(out);
    }
    cloak_edl_free(edl);
    return 0;
}
