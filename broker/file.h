/* eidhub: reading a whole small file (keys, certificates, metadata). */
#ifndef EH_FILE_H
#define EH_FILE_H

#include <stddef.h>

#include "broker/rc.h"

/* eh_file_read reads the file at path into a new NUL-terminated buffer
 * (*out, caller frees; *len its length, may be NULL). EH_ERR_IO when it
 * cannot be read, EH_ERR_TOO_LARGE when it holds more than max bytes. */
eh_rc eh_file_read(const char *path, size_t max, char **out, size_t *len);

#endif
