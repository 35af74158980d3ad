/* eidhub: reading a whole small file (see file.h). */
#include "broker/file.h"

#include <stdio.h>
#include <stdlib.h>

eh_rc eh_file_read(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    size_t n;
    eh_rc rc = EH_ERR_IO;

    if (f == NULL)
        return EH_ERR_IO;
    buf = malloc(max + 2);
    if (buf == NULL) {
        rc = EH_ERR_NOMEM;
        goto cleanup;
    }
    n = fread(buf, 1, max + 1, f);
    if (ferror(f))
        goto cleanup;
    if (n > max) {
        rc = EH_ERR_TOO_LARGE;
        goto cleanup;
    }
    buf[n] = '\0';
    *out = buf;
    buf = NULL;
    if (len != NULL)
        *len = n;
    rc = EH_OK;
cleanup:
    free(buf);
    fclose(f);
    return rc;
}
