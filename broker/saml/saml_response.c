/* eidhub: see saml_response.h. */
#include "broker/saml/saml_response.h"
