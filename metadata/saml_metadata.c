/* eidhub: see saml_metadata.h. */
#include "metadata/saml_metadata.h"
