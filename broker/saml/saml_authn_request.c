/* eidhub: see saml_authn_request.h. */
#include "broker/saml/saml_authn_request.h"
