/* eidhub: the verification core of the SK ID Solutions backends.
 *
 * Mobile-ID (MID REST) and Smart-ID (RP API v2) end an authentication the
 * same way: the citizen's device signs the hash the broker sent, and the
 * answer carries the signature and the citizen's authentication certificate,
 * both base64 (PROTOCOLS.md sections 3 and 4). This file checks such an
 * answer and turns the certificate subject into an eh_identity:
 *
 *   - the certificate chains to one of the configured CA certificates and
 *     is valid at the given time, and its keyUsage allows digitalSignature
 *     (an authentication certificate, not a nonRepudiation-only signing one);
 *   - the signature is over exactly the hash sent: RSA (at least 2048 bits)
 *     PKCS#1 v1.5 over DigestInfo(SHA-256/384/512 by the hash's length) ||
 *     hash, or ECDSA (curve of at least 256 bits) given as raw r||s, each
 *     half as long as the curve's order (ECDSA itself uses only the hash's
 *     leftmost bits up to that size);
 *   - the subject's serialNumber is an ETSI EN 319 412-1 semantics
 *     identifier for a national personal number, "PNO" + country + "-" +
 *     code (e.g. PNOEE-38001085718), and its country is the subject's C.
 *
 * What is not here: the result/endResult check, the comparison of the
 * personal code with the one the citizen entered, Smart-ID's
 * certificateLevel, and revocation (OCSP, sk_ocsp.h). The backends do those.
 *
 * Error texts ("why") are short English reasons that never contain a name,
 * a personal code or any other value from the certificate. */
#ifndef EH_SK_VERIFY_H
#define EH_SK_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/x509.h>

#include "broker/authn.h"
#include "broker/rc.h"

typedef struct eh_sk_trust eh_sk_trust;

/* What eh_sk_verify reads from a verified certificate's subject. Every
 * string is UTF-8, owned by the struct and personal data: release with
 * eh_sk_subject_free, never log. certificate is the verified certificate
 * itself (owned by the struct), so that the revocation check (sk_ocsp.h)
 * does not decode and parse it again: parsing a certificate is one of the
 * costliest steps of a login (OpenSSL 3.0 decodes its key through the
 * provider decoders). */
typedef struct eh_sk_subject {
    char *given_name;    /* GIVENNAME, or NULL when the subject has none */
    char *surname;       /* SURNAME, or NULL when the subject has none */
    char *country;       /* ISO 3166-1 alpha-2 of the identifier ("EE"), equal to C */
    char *id_type;       /* "PNO": the only semantics identifier type accepted */
    char *personal_code; /* SERIALNUMBER without its "PNOxx-" prefix */
    X509 *certificate;   /* the certificate that verified */
} eh_sk_subject;

/* eh_sk_trust_new loads the CA certificates in the n PEM files ca_files
 * (each may hold several certificates) as the trust anchors of SK answers,
 * into *out (caller owns, eh_sk_trust_free). Every certificate loaded is a
 * trust anchor by itself, so an intermediate CA (e.g. "EID-SK 2016") may be
 * configured without its root. Refuses with EH_ERR_INVALID no files at all,
 * and with EH_ERR_KEY (and a one-line reason naming the file in err, errlen
 * bytes, may be NULL) a file that cannot be read, holds no PEM certificate,
 * holds a block that does not parse, or holds a certificate that is not a
 * CA certificate. */
eh_rc eh_sk_trust_new(const char *const *ca_files, size_t n, eh_sk_trust **out, char *err,
                      size_t errlen);

/* eh_sk_trust_free releases trust (NULL is fine). */
void eh_sk_trust_free(eh_sk_trust *trust);

/* eh_sk_trust_store_get returns the certificate store of trust (borrowed,
 * lives as long as trust): the revocation check (sk_ocsp.h) finds a
 * certificate's issuer and verifies a delegated OCSP responder with it.
 * Every certificate in it is a trust anchor (X509_V_FLAG_PARTIAL_CHAIN is
 * set on the store). Only read it: one trust serves many threads. */
X509_STORE *eh_sk_trust_store_get(const eh_sk_trust *trust);

/* eh_sk_verify checks an SK authentication answer: signature_b64 and
 * cert_b64 are the answer's signature value and certificate (standard
 * base64 with padding, the certificate DER-encoded), hash the hash_len (32,
 * 48 or 64) bytes the broker sent, now the time (seconds since the epoch)
 * at which the certificate must be valid. On success fills *subject (the
 * caller's struct, which must be zeroed or freed; release it with
 * eh_sk_subject_free), including the parsed certificate, and returns
 * EH_OK. On failure *subject is left zeroed and the result is
 *   EH_ERR_INVALID    malformed input: NULL, a hash length other than
 *                     32/48/64, base64 or DER that does not decode;
 *   EH_ERR_TOO_LARGE  a signature or certificate text over its size limit;
 *   EH_ERR_KEY        the certificate is untrusted, expired, not yet valid,
 *                     not for digitalSignature, has an unsupported or too
 *                     short key, or a subject without one PNO identifier;
 *   EH_ERR_CRYPTO     the signature does not verify over hash with the
 *                     certificate's key;
 *   EH_ERR_NOMEM      an allocation failed;
 * and why (whylen bytes, may be NULL) holds a short English reason without
 * personal data. why is "" on success. trust is only read: one trust may
 * serve many threads. */
eh_rc eh_sk_verify(const eh_sk_trust *trust, const unsigned char *hash, size_t hash_len,
                   const char *signature_b64, const char *cert_b64, int64_t now,
                   eh_sk_subject *subject, char *why, size_t whylen);

/* eh_sk_subject_free wipes and frees the strings of s, frees its
 * certificate and zeroes it; the struct itself stays the caller's (NULL is
 * fine). */
void eh_sk_subject_free(eh_sk_subject *s);

/* eh_sk_subject_to_identity builds the internal identity of a verified
 * subject into *out (caller owns, eh_identity_free): country, id_type "PNO",
 * id_value the personal code, method and loa and auth_time as given, and
 * the attributes (attributes/registry.c names)
 *   given_name, family_name   when the subject has them;
 *   person_identifier         country + code, TARA style ("EE38001085718"),
 *                             the same text as eh_identity_subject. The eIDAS
 *                             form "EE/XX/code" depends on the receiving
 *                             country XX, so the eIDAS frontend builds it
 *                             from country and id_value;
 *   date_of_birth, gender     derived from the code when country is "EE" and
 *                             the code is valid (eh_ee_personal_code_valid);
 *                             gender as eIDAS spells it ("Male"/"Female").
 * Returns EH_ERR_INVALID when s lacks country, id_type or personal_code, or
 * method is NULL. */
eh_rc eh_sk_subject_to_identity(const eh_sk_subject *s, const char *method, eh_loa loa,
                                int64_t auth_time, eh_identity **out);

/* eh_mid_verification_code writes the Mobile-ID verification code of the
 * len-byte hash into out: ((h[0] & 0xFC) << 5) | (h[len-1] & 0x7F), i.e.
 * the first 6 bits and the last 7 bits of the hash, as 4 zero-padded
 * decimal digits. EH_ERR_INVALID (out "") for NULL or len 0. */
eh_rc eh_mid_verification_code(const unsigned char *hash, size_t len, char out[5]);

/* eh_sid_verification_code writes the Smart-ID verification code of the
 * len-byte hash into out: the last 2 bytes of SHA-256(hash) as an unsigned
 * big-endian integer, modulo 10000, as 4 zero-padded decimal digits.
 * EH_ERR_INVALID (out "") for NULL or len 0, EH_ERR_CRYPTO if SHA-256
 * fails. */
eh_rc eh_sid_verification_code(const unsigned char *hash, size_t len, char out[5]);

#endif
