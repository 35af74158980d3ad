#!/usr/bin/python3
"""A foreign eIDAS Connector (SAML SP) written with pysaml2, for interop tests.

An independent SAML implementation that talks to eidhub's eIDAS
Proxy-Service: it publishes signed SP metadata, sends signed eIDAS
AuthnRequests and checks (signature, decryption, conditions) the Responses
eidhub posts back. Run it with Debian's /usr/bin/python3, which has
python3-pysaml2 (7.0.1) and xmlsec1:

    /usr/bin/python3 tests/sim/pysaml2-connector.py --port 8500 --dir /tmp/py \
        --idp-metadata-url http://127.0.0.1:8080/saml/proxy/metadata \
        --idp-cert /tmp/eidhub/saml-sign.crt --country LV

Its first start in --dir makes its keys with the openssl CLI:
  sign-ec.pem/.crt    EC P-256, signs metadata and requests (ecdsa-sha256)
  sign-rsa.pem/.crt   RSA-3072, published as a second signing key; used only
                      by /start?sig=rsa-sha256, the RSA PKCS#1 v1.5 signature
                      that eidhub must refuse
  enc-rsa.pem/.crt    RSA-3072, the encryption key eidhub encrypts assertions to

Endpoints:
  GET  /metadata   our EntityDescriptor (SPSSODescriptor, ACS HTTP-POST at
                   /acs, eidas:NodeCountry and eidas:SPType public), signed
                   ecdsa-sha256 / sha256 / exclusive c14n
  GET  /start?loa=substantial[&sig=rsa-sha256][&relay_state=x][&acs=URL]
                   an auto-posting HTML form carrying a signed AuthnRequest
                   to the Proxy-Service's SSO URL (from its metadata); the
                   request ID is also in the header X-Request-ID; acs puts
                   another AssertionConsumerServiceURL in the request
  POST /acs        form SAMLResponse (+ RelayState): pysaml2 checks and
                   decrypts it; 200 {ok: true, name_id, attributes: {uri:
                   [values]}, authn_context, in_response_to, relay_state}
                   or 400 {ok: false, error}
  GET  /health     200 "ok"

eidhub's metadata is fetched at the first /start (eidhub may start later).
With --idp-cert, the metadata must carry a signature that
`xmlsec1 --verify --pubkey-cert-pem` accepts with that certificate (checked
here, strictly); pysaml2's own check of signed metadata is done too, but
pysaml2 accepts unsigned metadata even when a certificate is configured, so
it is not relied on alone. pysaml2's debug log goes to <dir>/pysaml2.log.
"""
import argparse
import base64
import html
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import saml2
import saml2.client_base
import saml2.entity
import saml2.pack
import saml2.saml
import saml2.xml.schema
import saml2.xmldsig
from saml2 import BINDING_HTTP_POST, SamlBase
from saml2 import md
from saml2 import samlp
from saml2.client import Saml2Client
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor, sign_entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT
from saml2.samlp import RequestedAuthnContext
from saml2.saml import AuthnContextClassRef
from saml2.sigver import security_context
from saml2.extension import sp_type
from saml2.xmldsig import DIGEST_SHA256, SIG_ECDSA_SHA256, SIG_RSA_SHA256

EIDAS_NS = 'http://eidas.europa.eu/saml-extensions'
NP = 'http://eidas.europa.eu/attributes/naturalperson/'
URI_FORMAT = 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri'
MD_ENTITY = 'urn:oasis:names:tc:SAML:2.0:metadata:EntityDescriptor'
XMLSEC = '/usr/bin/xmlsec1'
ALGSUPPORT_NS = 'urn:oasis:names:tc:SAML:metadata:algsupport'
EIDAS_ALGS = {
    'http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmldsig-more#sha384',
    'http://www.w3.org/2001/04/xmlenc#sha512', 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256',
    'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha384', 'http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha512',
}

REQUESTED = [
    {'name': NP + 'PersonIdentifier', 'friendly_name': 'PersonIdentifier'},
    {'name': NP + 'CurrentFamilyName', 'friendly_name': 'FamilyName'},
    {'name': NP + 'CurrentGivenName', 'friendly_name': 'FirstName'},
    {'name': NP + 'DateOfBirth', 'friendly_name': 'DateOfBirth'},
]

log = logging.getLogger('pysaml2-connector')

# pysaml2 7.0.1 signs messages (Entity.sign) only with the algorithms of
# saml2.xmldsig.SIG_ALLOWED_ALG, which are RSA PKCS#1 v1.5 only (rsa-sha1 ...
# rsa-sha512): ECDSA is refused with "Signature algo not in allowed list"
# although xmlsec1 signs with it fine. eIDAS wants ECDSA or RSASSA-PSS, so
# the list is extended here with ECDSA (its names are already in xmldsig).
_ECDSA = (('SIG_ECDSA_SHA256', SIG_ECDSA_SHA256), ('SIG_ECDSA_SHA384', saml2.xmldsig.SIG_ECDSA_SHA384),
          ('SIG_ECDSA_SHA512', saml2.xmldsig.SIG_ECDSA_SHA512))
for _mod in (saml2.xmldsig, saml2.entity, saml2.client_base, saml2.pack):
    if _ECDSA[0] not in _mod.SIG_ALLOWED_ALG:
        _mod.SIG_ALLOWED_ALG = tuple(_mod.SIG_ALLOWED_ALG) + _ECDSA

# pysaml2 7.0.1 knows only XML Schema's built-in xsi:types for attribute
# values: the eIDAS ones (eidas-natural:PersonIdentifierType,
# CurrentFamilyNameType, DateOfBirthType...) make it raise "Type and value do
# not match" (IdentityPython/pysaml2 issue #544). Values whose xsi:type is
# not an XML Schema one are kept as text, with their type. pysaml2 also
# loses the namespace declaration of the type's prefix when it serializes
# the element again (ElementTree keeps no xmlns of QName-valued attributes;
# pysaml2 re-adds only xmlns:xs), and it validates that serialization (see
# below): the conventional eIDAS prefixes, the ones the EU eIDAS-Node and
# eidhub write, are declared again, as pysaml2 does for xs.
EIDAS_TYPE_PREFIXES = {
    'eidas-natural': 'http://eidas.europa.eu/attributes/naturalperson',
    'eidas-legal': 'http://eidas.europa.eu/attributes/legalperson',
}
_orig_set_text = saml2.saml.AttributeValueBase.set_text


def _set_text_eidas(self, value, base64encode=False):
    typ = self.get_type()
    prefix = typ.split(':', 1)[0] if ':' in typ else ''
    if not base64encode and isinstance(value, (str, bytes)) and prefix and prefix not in ('xs', 'xsd'):
        if prefix in EIDAS_TYPE_PREFIXES:
            self.extension_attributes['xmlns:' + prefix] = EIDAS_TYPE_PREFIXES[prefix]
        SamlBase.__setattr__(self, 'text', value.decode('utf-8') if isinstance(value, bytes) else value)
        return self
    return _orig_set_text(self, value, base64encode)


saml2.saml.AttributeValueBase.set_text = _set_text_eidas

# Before checking a signature pysaml2 validates the signed element against
# the SAML schemas (saml2.xml.schema), which do not know the eIDAS attribute
# types either ("global xs:simpleType ... PersonIdentifierType not found").
# The schemas of the eIDAS SAML Attribute Profile (natural and legal person,
# the types eidhub uses) are added, so values are really checked (a
# DateOfBirth must be an xs:date).
EIDAS_NATURAL_XSD = '''<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    targetNamespace="http://eidas.europa.eu/attributes/naturalperson" elementFormDefault="qualified">
  <xsd:simpleType name="PersonIdentifierType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="CurrentFamilyNameType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="CurrentGivenNameType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="DateOfBirthType"><xsd:restriction base="xsd:date"/></xsd:simpleType>
  <xsd:simpleType name="BirthNameType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="PlaceOfBirthType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="CurrentAddressType"><xsd:restriction base="xsd:base64Binary"/></xsd:simpleType>
  <xsd:simpleType name="GenderType">
    <xsd:restriction base="xsd:string">
      <xsd:enumeration value="Male"/><xsd:enumeration value="Female"/><xsd:enumeration value="Unspecified"/>
    </xsd:restriction>
  </xsd:simpleType>
</xsd:schema>
'''
EIDAS_LEGAL_XSD = '''<?xml version="1.0" encoding="UTF-8"?>
<xsd:schema xmlns:xsd="http://www.w3.org/2001/XMLSchema"
    targetNamespace="http://eidas.europa.eu/attributes/legalperson" elementFormDefault="qualified">
  <xsd:simpleType name="LegalPersonIdentifierType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="LegalNameType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="LegalPersonAddressType"><xsd:restriction base="xsd:base64Binary"/></xsd:simpleType>
  <xsd:simpleType name="VATRegistrationNumberType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="TaxReferenceType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="LEIType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
  <xsd:simpleType name="EORIType"><xsd:restriction base="xsd:string"/></xsd:simpleType>
</xsd:schema>
'''
for _schema in (saml2.xml.schema.schema_saml_assertion, saml2.xml.schema.schema_saml_protocol):
    _schema.add_schema(EIDAS_NATURAL_XSD, build=False)
    _schema.add_schema(EIDAS_LEGAL_XSD, build=True)


class NodeCountry(SamlBase):
    """eidas:NodeCountry (eIDAS SAML Message Format, metadata extension)."""
    c_tag = 'NodeCountry'
    c_namespace = EIDAS_NS
    c_children = SamlBase.c_children.copy()
    c_attributes = SamlBase.c_attributes.copy()
    c_child_order = SamlBase.c_child_order[:]
    c_cardinality = SamlBase.c_cardinality.copy()


def openssl(*args):
    subprocess.run(['openssl', *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def make_keys(d):
    """Our keys and self-signed certificates, made once per folder."""
    def cert(key, crt, cn):
        openssl('req', '-x509', '-new', '-key', key, '-out', crt, '-days', '365', '-sha256',
                '-subj', '/C=LV/O=pysaml2 interop/CN=' + cn)
    files = {
        'sign_key': os.path.join(d, 'sign-ec.pem'), 'sign_cert': os.path.join(d, 'sign-ec.crt'),
        'rsa_sign_key': os.path.join(d, 'sign-rsa.pem'), 'rsa_sign_cert': os.path.join(d, 'sign-rsa.crt'),
        'enc_key': os.path.join(d, 'enc-rsa.pem'), 'enc_cert': os.path.join(d, 'enc-rsa.crt'),
    }
    if not os.path.exists(files['sign_cert']):
        openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', files['sign_key'])
        cert(files['sign_key'], files['sign_cert'], 'pysaml2 Connector signing')
    if not os.path.exists(files['rsa_sign_cert']):
        openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', files['rsa_sign_key'])
        cert(files['rsa_sign_key'], files['rsa_sign_cert'], 'pysaml2 Connector RSA signing')
    if not os.path.exists(files['enc_cert']):
        openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072', '-out', files['enc_key'])
        cert(files['enc_key'], files['enc_cert'], 'pysaml2 Connector encryption')
    return files


def xmlsec_verify(xml_bytes, cert_file, id_attr):
    """True when xmlsec1 verifies the document's signature with cert_file only."""
    with tempfile.NamedTemporaryFile(suffix='.xml') as f:
        f.write(xml_bytes)
        f.flush()
        r = subprocess.run([XMLSEC, '--verify', '--enabled-reference-uris', 'empty,same-doc',
                            '--enabled-key-data', 'raw-x509-cert', '--pubkey-cert-pem', cert_file,
                            '--id-attr:ID', id_attr, f.name], capture_output=True, text=True)
    log.debug('xmlsec1 --verify metadata: rc=%s %s', r.returncode, r.stderr.strip())
    return r.returncode == 0


class Connector:
    def __init__(self, args):
        self.args = args
        self.base = args.base_url or f'http://127.0.0.1:{args.port}'
        self.entity_id = self.base + '/metadata'
        self.keys = make_keys(args.dir)
        self.lock = threading.Lock()
        self.clients = None     # {'ecdsa-sha256': Saml2Client, 'rsa-sha256': Saml2Client}
        self.idp_entity_id = None
        self.outstanding = {}   # request ID -> relay state

    def config_dict(self, signing_key, signing_cert, metadata=None):
        c = {
            'entityid': self.entity_id,
            'name': 'pysaml2 Connector',
            'description': 'pysaml2 Connector',
            'service': {'sp': {
                'name': 'pysaml2 Connector',
                'endpoints': {'assertion_consumer_service': [(self.base + '/acs', BINDING_HTTP_POST)]},
                'authn_requests_signed': True,
                'want_response_signed': True,
                'want_assertions_signed': True,
                'want_assertions_or_response_signed': True,
                'allow_unsolicited': False,
                'name_id_format': [NAMEID_FORMAT_PERSISTENT],
                'name_id_policy_format': NAMEID_FORMAT_PERSISTENT,
                'name_id_format_allow_create': True,
                'force_authn': True,
                # SPType goes into the request's samlp:Extensions (pysaml2's
                # eIDAS support); the metadata gets its own copy below.
                'sp_type': 'public',
                'sp_type_in_metadata': False,
                'requested_attributes': [dict(a, name_format=URI_FORMAT, required=True) for a in REQUESTED],
                'signing_algorithm': SIG_ECDSA_SHA256,
                'digest_algorithm': DIGEST_SHA256,
            }},
            'key_file': signing_key,
            'cert_file': signing_cert,
            'additional_cert_files': [self.keys['rsa_sign_cert']] if signing_cert == self.keys['sign_cert'] else [],
            'encryption_keypairs': [{'key_file': self.keys['enc_key'], 'cert_file': self.keys['enc_cert']}],
            'xmlsec_binary': XMLSEC,
            'valid_for': 24,
            'allow_unknown_attributes': True,
            'only_use_keys_in_metadata': True,
            'accepted_time_diff': 60,
            'delete_tmpfiles': True,
        }
        if metadata:
            c['metadata'] = metadata
        return c

    # --- our metadata ---------------------------------------------------
    def metadata_xml(self):
        conf = SPConfig().load(self.config_dict(self.keys['sign_key'], self.keys['sign_cert']))
        ed = entity_descriptor(conf)
        if not ed.extensions:
            ed.extensions = md.Extensions()
        # pysaml2 lists every algorithm xmlsec1 knows (md5, sha1, rsa-sha1...):
        # publish only the eIDAS ones.
        ed.extensions.extension_elements = [
            e for e in ed.extensions.extension_elements
            if e.namespace != ALGSUPPORT_NS or e.attributes.get('Algorithm') in EIDAS_ALGS]
        ed.extensions.add_extension_element(NodeCountry(text=self.args.country))
        ed.extensions.add_extension_element(sp_type.SPType(text='public'))
        secc = security_context(conf)
        _, xml = sign_entity_descriptor(ed, None, secc, sign_alg=SIG_ECDSA_SHA256, digest_alg=DIGEST_SHA256)
        return xml.encode('utf-8') if isinstance(xml, str) else xml

    # --- eidhub's metadata, lazily ---------------------------------------
    def ensure_clients(self):
        if self.clients is not None:
            return
        with urllib.request.urlopen(self.args.idp_metadata_url, timeout=10) as r:
            text = r.read()
        md_file = os.path.join(self.args.dir, 'idp-metadata.xml')
        with open(md_file, 'wb') as f:
            f.write(text)
        remote = {'url': self.args.idp_metadata_url, 'node_name': MD_ENTITY}
        if self.args.idp_cert:
            if b'SignatureValue' not in text or not xmlsec_verify(text, self.args.idp_cert, MD_ENTITY):
                raise RuntimeError('the Proxy-Service metadata is not signed by the trusted certificate')
            remote['cert'] = self.args.idp_cert
        metadata = {'remote': [remote]}
        clients = {}
        for name, key, cert in (('ecdsa-sha256', self.keys['sign_key'], self.keys['sign_cert']),
                                ('rsa-sha256', self.keys['rsa_sign_key'], self.keys['rsa_sign_cert'])):
            conf = SPConfig().load(self.config_dict(key, cert, metadata))
            clients[name] = Saml2Client(config=conf)
        idps = list(clients['ecdsa-sha256'].metadata.identity_providers())
        if len(idps) != 1:
            raise RuntimeError(f'expected one IdP in the Proxy-Service metadata, found {len(idps)}')
        self.idp_entity_id = idps[0]
        self.clients = clients

    # --- the AuthnRequest -----------------------------------------------
    def start(self, loa, sig, relay_state, acs=None):
        with self.lock:
            self.ensure_clients()
            client = self.clients[sig]
            sso = client.metadata.single_sign_on_service(self.idp_entity_id, BINDING_HTTP_POST)
            destination = sso[0]['location']
            rac = RequestedAuthnContext(
                authn_context_class_ref=[AuthnContextClassRef(text='http://eidas.europa.eu/LoA/' + loa)],
                comparison='minimum')
            req_id, xml = client.create_authn_request(
                destination, binding=BINDING_HTTP_POST, sign=True,
                sign_alg=SIG_ECDSA_SHA256 if sig == 'ecdsa-sha256' else SIG_RSA_SHA256,
                digest_alg=DIGEST_SHA256, nameid_format=NAMEID_FORMAT_PERSISTENT, allow_create='true',
                force_authn='true', requested_authn_context=rac,
                **({'assertion_consumer_service_url': acs} if acs else {}))
            self.outstanding[req_id] = relay_state
        xml = xml if isinstance(xml, bytes) else str(xml).encode('utf-8')
        with open(os.path.join(self.args.dir, 'last-request.xml'), 'wb') as f:
            f.write(xml)
        return req_id, destination, base64.b64encode(xml).decode('ascii')

    # --- the Response ---------------------------------------------------
    def acs(self, saml_response, relay_state):
        with self.lock:
            self.ensure_clients()
            client = self.clients['ecdsa-sha256']
            outstanding = dict(self.outstanding)
            # pysaml2 accepts unencrypted assertions too, and forgets after
            # decrypting whether there were any: eIDAS wants exactly one
            # encrypted assertion and no plain one, so look first.
            raw = samlp.response_from_string(base64.b64decode(saml_response))
            if raw is None or len(raw.encrypted_assertion) != 1 or raw.assertion:
                raise RuntimeError('not exactly one encrypted assertion and no plain one')
            resp = client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding=outstanding)
            if resp is None:
                raise RuntimeError('response could not be unravelled')
            assertion = resp.assertion
            if assertion is None:
                raise RuntimeError('no assertion')
            if assertion.signature is None:
                raise RuntimeError('assertion not signed')
            attrs = {}
            for st in assertion.attribute_statement:
                for a in st.attribute:
                    attrs.setdefault(a.name, []).extend(v.text for v in a.attribute_value)
            ctx = []
            for st in assertion.authn_statement:
                if st.authn_context and st.authn_context.authn_context_class_ref:
                    ctx.append(st.authn_context.authn_context_class_ref.text.strip())
            in_response_to = resp.in_response_to
            expected_relay = self.outstanding.pop(in_response_to, None)
        return {
            'ok': True,
            'issuer': resp.issuer(),
            'name_id': resp.name_id.text if resp.name_id is not None else None,
            'name_id_format': resp.name_id.format if resp.name_id is not None else None,
            'attributes': attrs,
            'authn_context': ctx[0] if ctx else None,
            'in_response_to': in_response_to,
            'relay_state': relay_state,
            'relay_state_matches': expected_relay == relay_state,
            'response_signed': resp.response.signature is not None,
            'assertion_signed': True,
            'assertion_encrypted': True,
        }


def auto_post_page(action, fields):
    inputs = ''.join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}"/>\n'
                     for k, v in fields.items() if v is not None)
    return (f'<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>pysaml2 Connector</title></head>\n'
            f'<body onload="document.forms[0].submit()">\n<form method="post" action="{html.escape(action)}">\n'
            f'{inputs}<noscript><button type="submit">Continue</button></noscript>\n</form></body></html>\n')


def make_handler(conn):
    class Handler(BaseHTTPRequestHandler):
        server_version = 'pysaml2-connector'

        def log_message(self, fmt, *a):
            log.info('%s %s', self.address_string(), fmt % a)

        def send(self, status, body, ctype, headers=()):
            data = body if isinstance(body, bytes) else body.encode('utf-8')
            self.send_response(status)
            self.send_header('Content-Type', ctype)
            self.send_header('Content-Length', str(len(data)))
            self.send_header('Cache-Control', 'no-store')
            for k, v in headers:
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(data)

        def json(self, status, obj):
            self.send(status, json.dumps(obj), 'application/json')

        def do_GET(self):
            u = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(u.query))
            try:
                if u.path == '/health':
                    return self.send(200, 'ok\n', 'text/plain')
                if u.path == '/metadata':
                    return self.send(200, conn.metadata_xml(), 'application/samlmetadata+xml')
                if u.path == '/start':
                    loa = q.get('loa', 'substantial')
                    sig = q.get('sig', 'ecdsa-sha256')
                    if loa not in ('low', 'substantial', 'high') or sig not in ('ecdsa-sha256', 'rsa-sha256'):
                        return self.json(400, {'ok': False, 'error': 'bad loa or sig'})
                    relay = q.get('relay_state', 'py-' + os.urandom(6).hex())
                    req_id, dest, b64 = conn.start(loa, sig, relay, q.get('acs'))
                    page = auto_post_page(dest, {'SAMLRequest': b64, 'RelayState': relay})
                    return self.send(200, page, 'text/html; charset=utf-8', [('X-Request-ID', req_id)])
                return self.json(404, {'ok': False, 'error': 'not found'})
            except Exception as e:  # a test peer: report, do not die
                log.exception('GET %s failed', u.path)
                return self.json(500, {'ok': False, 'error': f'{type(e).__name__}: {e}'})

        def do_POST(self):
            u = urllib.parse.urlsplit(self.path)
            if u.path != '/acs':
                return self.json(404, {'ok': False, 'error': 'not found'})
            n = int(self.headers.get('Content-Length') or 0)
            form = dict(urllib.parse.parse_qsl(self.rfile.read(n).decode('ascii', 'replace')))
            if 'SAMLResponse' not in form:
                return self.json(400, {'ok': False, 'error': 'no SAMLResponse'})
            try:
                result = conn.acs(form['SAMLResponse'], form.get('RelayState'))
            except Exception as e:
                log.warning('ACS refused the response: %s: %s', type(e).__name__, e)
                return self.json(400, {'ok': False, 'error': f'{type(e).__name__}: {str(e)[:300]}'})
            return self.json(200, result)

    return Handler


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--port', type=int, required=True)
    p.add_argument('--dir', required=True)
    p.add_argument('--idp-metadata-url', required=True)
    p.add_argument('--idp-cert', help="eidhub's SAML signing certificate (PEM), trust anchor of its metadata")
    p.add_argument('--country', default='LV')
    p.add_argument('--base-url', help='our public base URL (default http://127.0.0.1:<port>)')
    args = p.parse_args()
    os.makedirs(args.dir, exist_ok=True)
    logging.basicConfig(filename=os.path.join(args.dir, 'pysaml2.log'), level=logging.DEBUG,
                        format='%(asctime)s %(name)s %(levelname)s %(message)s')
    conn = Connector(args)
    srv = ThreadingHTTPServer(('127.0.0.1', args.port), make_handler(conn))
    # SIGTERM or SIGINT: stop serving and exit 0
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start())
    signal.signal(signal.SIGINT, lambda *_: threading.Thread(target=srv.shutdown, daemon=True).start())
    print(f'pysaml2 Connector on {conn.base}, entity {conn.entity_id}', flush=True)
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(main())
