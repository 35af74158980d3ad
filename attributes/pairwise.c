#include "attributes/pairwise.h"

#include <cjose/cjose.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

eh_rc eh_pairwise_subject(const unsigned char *secret, size_t secret_len, const char *sector,
                          const char *subject, char **out)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    size_t sector_len = strlen(sector), subject_len = strlen(subject), enc_len = 0;
    unsigned char *msg;
    cjose_err err;
    eh_rc rc = EH_ERR_CRYPTO;

    if (secret_len < EH_PAIRWISE_SECRET_MIN || sector_len == 0 || subject_len == 0)
        return EH_ERR_INVALID;
    msg = malloc(sector_len + 1 + subject_len);
    if (msg == NULL)
        return EH_ERR_NOMEM;
    memcpy(msg, sector, sector_len);
    msg[sector_len] = 0;
    memcpy(msg + sector_len + 1, subject, subject_len);
    if (HMAC(EVP_sha256(), secret, (int)secret_len, msg, sector_len + 1 + subject_len, md,
             &md_len) != NULL)
        rc = cjose_base64url_encode(md, md_len, out, &enc_len, &err) ? EH_OK : EH_ERR_NOMEM;
    OPENSSL_cleanse(msg, sector_len + 1 + subject_len);
    free(msg);
    return rc;
}
