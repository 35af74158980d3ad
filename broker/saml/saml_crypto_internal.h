/* eidhub: internals shared by broker/saml/ files (xmlsec types). */
#ifndef EH_SAML_CRYPTO_INTERNAL_H
#define EH_SAML_CRYPTO_INTERNAL_H

#include <xmlsec/xmlsec.h>
#include <xmlsec/transforms.h>

#include "broker/saml/saml_crypto.h"

int eh_saml_rsa_pss_register(void);
xmlSecTransformId eh_saml_rsa_pss_sha256_id(void);
xmlSecTransformId eh_saml_rsa_pss_sha384_id(void);
xmlSecTransformId eh_saml_rsa_pss_sha512_id(void);

#endif
