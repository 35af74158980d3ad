/* eidhub: the names of SAML 2.0 and the eIDAS profile, in one place.
 *
 * Namespaces, status codes, NameID formats, bindings and the eIDAS
 * extension names that the message builders and parsers under broker/saml/
 * and metadata/ share (PROTOCOLS.md section 1). */
#ifndef EH_SAML_NAMES_H
#define EH_SAML_NAMES_H

#define EH_NS_SAMLP "urn:oasis:names:tc:SAML:2.0:protocol"
#define EH_NS_SAML "urn:oasis:names:tc:SAML:2.0:assertion"
#define EH_NS_MD "urn:oasis:names:tc:SAML:2.0:metadata"
#define EH_NS_DS "http://www.w3.org/2000/09/xmldsig#"
#define EH_NS_XENC "http://www.w3.org/2001/04/xmlenc#"
#define EH_NS_XSI "http://www.w3.org/2001/XMLSchema-instance"
#define EH_NS_XS "http://www.w3.org/2001/XMLSchema"
#define EH_NS_EIDAS "http://eidas.europa.eu/saml-extensions"
#define EH_NS_EIDAS_NATURAL "http://eidas.europa.eu/attributes/naturalperson"
#define EH_NS_EIDAS_LEGAL "http://eidas.europa.eu/attributes/legalperson"
#define EH_NS_ALG "urn:oasis:names:tc:SAML:metadata:algsupport"
#define EH_NS_MDATTR "urn:oasis:names:tc:SAML:metadata:attribute"

#define EH_SAML_VERSION "2.0"
#define EH_SAML_ATTRNAME_URI "urn:oasis:names:tc:SAML:2.0:attrname-format:uri"
#define EH_SAML_BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"
#define EH_SAML_BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define EH_SAML_CM_BEARER "urn:oasis:names:tc:SAML:2.0:cm:bearer"
#define EH_SAML_ISSUER_ENTITY "urn:oasis:names:tc:SAML:2.0:nameid-format:entity"

#define EH_SAML_NAMEID_PERSISTENT "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"
#define EH_SAML_NAMEID_TRANSIENT "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"
#define EH_SAML_NAMEID_UNSPECIFIED "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

#define EH_SAML_STATUS_SUCCESS "urn:oasis:names:tc:SAML:2.0:status:Success"
#define EH_SAML_STATUS_REQUESTER "urn:oasis:names:tc:SAML:2.0:status:Requester"
#define EH_SAML_STATUS_RESPONDER "urn:oasis:names:tc:SAML:2.0:status:Responder"
#define EH_SAML_STATUS_AUTHN_FAILED "urn:oasis:names:tc:SAML:2.0:status:AuthnFailed"
#define EH_SAML_STATUS_REQUEST_DENIED "urn:oasis:names:tc:SAML:2.0:status:RequestDenied"
#define EH_SAML_STATUS_NO_AUTHN_CONTEXT "urn:oasis:names:tc:SAML:2.0:status:NoAuthnContext"
#define EH_SAML_STATUS_INVALID_ATTR "urn:oasis:names:tc:SAML:2.0:status:InvalidAttrNameOrValue"
#define EH_SAML_STATUS_REQUEST_UNSUPPORTED "urn:oasis:names:tc:SAML:2.0:status:RequestUnsupported"

#define EH_SAML_SPTYPE_PUBLIC "public"
#define EH_SAML_SPTYPE_PRIVATE "private"

#endif
