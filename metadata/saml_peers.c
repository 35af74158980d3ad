/* eidhub: see saml_peers.h. */
#include "metadata/saml_peers.h"
