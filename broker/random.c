#include "broker/random.h"

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

eh_rc eh_random_bytes(unsigned char *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? EH_OK : EH_ERR_CRYPTO;
}

/* b64url encodes len bytes as a new NUL-terminated string. */
static eh_rc b64url(const unsigned char *data, size_t len, char **out)
{
    char *enc = NULL;
    size_t enc_len = 0;
    cjose_err err;

    if (!cjose_base64url_encode(data, len, &enc, &enc_len, &err))
        return EH_ERR_NOMEM;
    *out = enc;
    return EH_OK;
}

eh_rc eh_random_token(char **out)
{
    unsigned char raw[EH_TOKEN_BYTES];
    eh_rc rc = eh_random_bytes(raw, sizeof(raw));
    if (rc == EH_OK)
        rc = b64url(raw, sizeof(raw), out);
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

eh_rc eh_token_digest(const char *token, char **out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;

    if (!EVP_Digest(token, strlen(token), md, &md_len, EVP_sha256(), NULL))
        return EH_ERR_CRYPTO;
    return b64url(md, md_len, out);
}

int eh_token_equal(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return 0;
    return CRYPTO_memcmp(a, b, la) == 0;
}
