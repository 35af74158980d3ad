#!/usr/bin/python3
"""The SAML peer of the eIDAS response benchmark (issue 7, bench/README.md).

Processes the eIDAS Responses that bench/saml-bench wrote (--write DIR) as a
pysaml2 SP does, for a fixed time, and prints one JSON object:

    /usr/bin/python3 bench/pysaml2-consume.py --dir DIR --fixtures tests/fixtures/saml \
        [--seconds 10]

Run it with Debian's /usr/bin/python3 (python3-pysaml2 7.0.1, xmlsec1). The SP is
tests/sim/pysaml2-connector.py's Connector, imported as it is, so with the same
configuration and patches as the interop test (ECDSA, eIDAS attribute types and
schemas): its ACS handler (Connector.acs) checks that there is exactly one encrypted
assertion and no plain one, then Saml2Client.parse_authn_request_response verifies
the Response's signature, decrypts the assertion (AES-256-GCM, RSA-OAEP), verifies
the assertion's signature and checks destination, audience, InResponseTo (each
response's request is outstanding) and the time conditions. pysaml2 does its XML
signature and decryption work by running the xmlsec1 program, as deployed.

The Connector's keys are the benchmark's fixtures: the encryption key is
rsa3072.pem (the responses are encrypted for it); the Proxy-Service's metadata
(made here with pysaml2 from ec256.crt) names ec256's certificate as its signing key.
"""
import argparse
import base64
import importlib.util
import json
import os
import shutil
import sys
import tempfile
import time
import types

from saml2 import BINDING_HTTP_POST
from saml2.client import Saml2Client
from saml2.config import IdPConfig, SPConfig
from saml2.metadata import entity_descriptor

HERE = os.path.dirname(os.path.abspath(__file__))


def load_connector_module():
    """tests/sim/pysaml2-connector.py as a module (its patches apply on import)."""
    path = os.path.join(HERE, '..', 'tests', 'sim', 'pysaml2-connector.py')
    spec = importlib.util.spec_from_file_location('pysaml2_connector', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--dir', required=True, help="saml-bench --write's folder (manifest.json, resp-*.xml)")
    p.add_argument('--fixtures', required=True, help='tests/fixtures/saml')
    p.add_argument('--seconds', type=float, default=10)
    args = p.parse_args()

    with open(os.path.join(args.dir, 'manifest.json')) as f:
        man = json.load(f)
    sp, acs, idp = man['sp'], man['acs'], man['idp']
    if not sp.endswith('/metadata') or acs != sp[:-len('/metadata')] + '/acs':
        raise SystemExit('pysaml2-consume: sp must be BASE/metadata and acs BASE/acs (the Connector\'s layout)')
    base = sp[:-len('/metadata')]
    responses = []
    for r in man['responses']:
        with open(os.path.join(args.dir, r['file']), 'rb') as f:
            responses.append((base64.b64encode(f.read()).decode('ascii'), r['in_response_to']))

    mod = load_connector_module()
    work = tempfile.mkdtemp(prefix='eidhub-pysaml2-bench-')
    try:
        fx = args.fixtures
        # the Connector's key files (make_keys keeps existing ones)
        for dst, src in (('sign-ec', 'ec256'), ('sign-rsa', 'rsa3072'), ('enc-rsa', 'rsa3072')):
            shutil.copy(os.path.join(fx, src + '.pem'), os.path.join(work, dst + '.pem'))
            shutil.copy(os.path.join(fx, src + '.crt'), os.path.join(work, dst + '.crt'))
        conn = mod.Connector(types.SimpleNamespace(
            port=0, base_url=base, dir=work, country='LV', idp_metadata_url=None, idp_cert=None))

        # the Proxy-Service's metadata, local (the interop test fetches it from eidhub)
        idp_conf = IdPConfig().load({
            'entityid': idp,
            'service': {'idp': {'endpoints': {'single_sign_on_service': [(idp.rsplit('/', 1)[0] + '/sso', BINDING_HTTP_POST)]}}},
            'key_file': os.path.join(fx, 'ec256.pem'), 'cert_file': os.path.join(fx, 'ec256.crt'),
            'xmlsec_binary': mod.XMLSEC,
        })
        md_file = os.path.join(work, 'idp-metadata.xml')
        with open(md_file, 'w') as f:
            f.write(str(entity_descriptor(idp_conf)))
        conf = SPConfig().load(conn.config_dict(conn.keys['sign_key'], conn.keys['sign_cert'], {'local': [md_file]}))
        conn.clients = {'ecdsa-sha256': Saml2Client(config=conf)}
        conn.idp_entity_id = idp

        def one(i):
            b64, req_id = responses[i % len(responses)]
            conn.outstanding[req_id] = 'bench'
            res = conn.acs(b64, 'bench')
            if not (res['ok'] and res['issuer'] == idp and res['in_response_to'] == req_id and res['name_id']
                    and len(res['attributes']) == 4 and res['relay_state_matches']):
                raise RuntimeError('unexpected result')

        for i in range(len(responses)):  # each accepted once (and warm-up)
            one(i)
        n = errors = 0
        first_error = None
        t0 = time.monotonic()
        c0 = os.times()
        t = t0
        while t - t0 < args.seconds:
            try:
                one(n + errors)
                n += 1
            except Exception as e:  # counted; the first one is shown
                errors += 1
                first_error = first_error or f'{type(e).__name__}: {e}'
            t = time.monotonic()
        c1 = os.times()
        secs = t - t0
        cpu = (c1.user - c0.user) + (c1.system - c0.system)
        cpu_children = (c1.children_user - c0.children_user) + (c1.children_system - c0.children_system)
        out = {
            'peer': 'pysaml2 7.0.1 (Debian python3-pysaml2, xmlsec1 %s)' % xmlsec_version(mod.XMLSEC),
            'pysaml2Version': pysaml2_version(),
            'responses': len(responses), 'count': n, 'errors': errors, 'firstError': first_error,
            'secs': secs, 'rate': n / secs,
            'cpu': cpu, 'cpuChildren': cpu_children,  # xmlsec1 runs as a child process
            'ratePerCpu': n / (cpu + cpu_children) if cpu + cpu_children > 0 else None,
        }
        print(json.dumps(out, indent=1))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def xmlsec_version(binary):
    import subprocess
    r = subprocess.run([binary, '--version'], capture_output=True, text=True)
    return r.stdout.strip().split()[1] if r.returncode == 0 and len(r.stdout.split()) > 1 else '?'


def pysaml2_version():
    try:
        from importlib.metadata import version
        return version('pysaml2')
    except Exception:
        return None


if __name__ == '__main__':
    sys.exit(main())
