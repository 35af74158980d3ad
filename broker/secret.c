#include "broker/secret.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker/random.h"

eh_rc eh_secret_sha256_hex(const char *secret, char out[EH_SHA256_HEX_SIZE])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (!EVP_Digest(secret, strlen(secret), md, &md_len, EVP_sha256(), NULL) || md_len != 32)
        return EH_ERR_CRYPTO;
    for (unsigned i = 0; i < md_len; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
    return EH_OK;
}

int eh_secret_matches(const char *secret, const char *sha256_hex)
{
    char hex[EH_SHA256_HEX_SIZE];
    int ok;

    if (eh_secret_sha256_hex(secret, hex) != EH_OK || strlen(sha256_hex) != 64)
        return 0;
    ok = CRYPTO_memcmp(hex, sha256_hex, 64) == 0;
    OPENSSL_cleanse(hex, sizeof(hex));
    return ok;
}

eh_rc eh_secret_new(char **out)
{
    return eh_random_token(out);
}

eh_rc eh_secret_file_create(const char *path, char *err, size_t errlen)
{
    char *secret = NULL;
    size_t len;
    int fd;
    eh_rc rc = eh_secret_new(&secret);

    if (rc != EH_OK) {
        snprintf(err, errlen, "%s: cannot make a random secret", path);
        return rc;
    }
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = EH_ERR_IO;
        goto cleanup;
    }
    len = strlen(secret);
    secret[len] = '\n';
    if (write(fd, secret, len + 1) != (ssize_t)(len + 1) || fsync(fd) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        unlink(path);
        rc = EH_ERR_IO;
    }
    secret[len] = '\0';
    close(fd);
cleanup:
    OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
    return rc;
}
