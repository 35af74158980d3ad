/* Fuzz target: untrusted SAML XML through the broker/saml/ layer:
 * eh_saml_parse (DOCTYPE, depth, size limits), then eh_saml_verify of the
 * root's ds:Signature against fixed trusted keys (tests/fixtures/saml's
 * ec256 and rsa3072 public keys), and eh_saml_decrypt of a root
 * xenc:EncryptedData or of its first child element with the rsa3072
 * private key. Checks: a parsed document never keeps a DOCTYPE; a verified
 * signature always covers exactly its parent (the root here); decryption
 * never succeeds without an element to return. Seeds: the known-good
 * vectors of tests/fixtures/saml/. */
#include <string.h>

#include <libxml/tree.h>

#include "broker/saml/saml_crypto.h"
#include "tests/fuzz/fuzz_util.h"

static const char EC256_PUB[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE25m9PWJD3KcAsdZU3+6jMUM5NSPt\n"
    "7v69Ql5choskETTbEeF6eRBnq6nYNmbVJ5ycjrYvwejfDdHgbRExotw3HQ==\n"
    "-----END PUBLIC KEY-----\n"
;
static const char RSA3072_PUB[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIIBojANBgkqhkiG9w0BAQEFAAOCAY8AMIIBigKCAYEAxvme0D57h1V4j3YMTu9z\n"
    "UpKpK+oYAZUxX5fe5V3okNvVWuHRopNqYGLO+yl+v2rvzHcrRQu9thN3l1Zlcf33\n"
    "iCRIj4PPLSBDEJ5IP1kIeeEPE8HZeENR8zeIAA69Ny9kuLCYX5IWWTuU4S10gUSq\n"
    "KgINvWS6394K3aduBKGM2Z5rfYYXMjJOweEnDS36x8yuyB2JRgzk8NYLcudwp3j8\n"
    "8sc5lgZTBKIf7PNfyUX9Lp1FE/x5eJD19GWnx/zMeE46B3vIq5SEofsQjZRiXX+n\n"
    "EPOE3zhq/WM9qnzu8obRhJAVv/POOopB/kGN4ocEhUTxpBheWc0W95jZq6brFctn\n"
    "dEaLmgFcsFRIPNa2hr23uiODJvypwa+lzC9c3sK7Cc7rsys2t+2cD9XPsYhQWY3s\n"
    "rAlroKiEfHlHdDs6og4FRKnE6xQa0KLSxu6xjU82+0n6GBJ18dkDhjUfY/tnWb0+\n"
    "jMd0Yu9ZLWFx89uFcyKUbTpRwT/+/tMl2v5s5Dk5+AuXAgMBAAE=\n"
    "-----END PUBLIC KEY-----\n"
;
static const char RSA3072_PRIV[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIG/AIBADANBgkqhkiG9w0BAQEFAASCBuYwggbiAgEAAoIBgQDG+Z7QPnuHVXiP\n"
    "dgxO73NSkqkr6hgBlTFfl97lXeiQ29Va4dGik2pgYs77KX6/au/MdytFC722E3eX\n"
    "VmVx/feIJEiPg88tIEMQnkg/WQh54Q8Twdl4Q1HzN4gADr03L2S4sJhfkhZZO5Th\n"
    "LXSBRKoqAg29ZLrf3grdp24EoYzZnmt9hhcyMk7B4ScNLfrHzK7IHYlGDOTw1gty\n"
    "53CnePzyxzmWBlMEoh/s81/JRf0unUUT/Hl4kPX0ZafH/Mx4TjoHe8irlISh+xCN\n"
    "lGJdf6cQ84TfOGr9Yz2qfO7yhtGEkBW/8846ikH+QY3ihwSFRPGkGF5ZzRb3mNmr\n"
    "pusVy2d0RouaAVywVEg81raGvbe6I4Mm/KnBr6XML1zewrsJzuuzKza37ZwP1c+x\n"
    "iFBZjeysCWugqIR8eUd0OzqiDgVEqcTrFBrQotLG7rGNTzb7SfoYEnXx2QOGNR9j\n"
    "+2dZvT6Mx3Ri71ktYXHz24VzIpRtOlHBP/7+0yXa/mzkOTn4C5cCAwEAAQKCAYAd\n"
    "VowEpNneSWDL4mThNKxFNhZsll6GHo3s9uh+MFu3aY/qumuIdFerMOvXm7WHxYg9\n"
    "wSp89US6i+HxILjiLHIVkv1XRTZEhJfEOQUVFhcfsBVi3TfSuYu5TWxSTy9gwNkH\n"
    "Ob6rL3qicJxnRqZW3cgrW9R+eFOXk6v4JRTzPjDARlFkwjiPBbJCzbnOLIPoIYrP\n"
    "OzpU56zQF/dl21tAePXvBCdpCAiwoQkNDTuH4rfN6jwtEhKFD6FnBkrNZuhtKrdg\n"
    "IBzqftq6Q/u4/gAPWQM8BQVI6EO/3SLHDak5ZHMrJDT53yenzgZdaC+Ye7EuBYAW\n"
    "tY91xxA/sXg8g3JQRGq18ouf8rA4Mz0t4J9/FOTtNuan1/iaPaR+NmDW5ClfS4Ej\n"
    "nQQYFA+6i8Mcu2NgIg/rEJ7+DWKm59MRh8m996HOlmtaiZ5wGT2zJN0HWeeie13j\n"
    "z6XtTMjy2YZFviht+cB8vPbzI1l6SMmxBh9KFk9tZyefeE6a39qCEXSSF2AVAFUC\n"
    "gcEA5suPVzmUiE9DUZSXYHWhKvUl4FFSoYSKxyECfLQIxXoWSbX6eiqJMEA5u1Oc\n"
    "Sz3iYGOym2JBNWwK37Q3GrnMaGsAmfWHUdCvtnLzWjGs4RjauKxGT4TO5u6qPKMD\n"
    "XqIXQu1xbAUPaNaFq2lqd/uTlHB3onIZ/OuEsq45CAir0cSVfkFfo0X5wWnShZ3G\n"
    "WU0VYDhNJTIKeIJb7wfI9ucPa8yzau3lG8HMHWA4Q+XVNaCe07dIcbBvXnSI6gqZ\n"
    "XyqLAoHBANy0c+oa2xayyGHr55UGGrq4b7thmJZXcVhvUCms4p9kISq52/TRz6W3\n"
    "wmfIEs9GuyeQAD/3/W2sAPyj/FEdPsXL06EO9aTtafLFTmCHJl/55WjqQMePFtEK\n"
    "3279PVCcID5BRD/xZymuCG3TMpkXGq+i0wuRZOezQcgqGULpuC38sKAAsQ5HK0mr\n"
    "PsbMJigtDjWVeL3QuP7wN9XHUsX73/ctBJ5iCXpNFcTBHkLSQrOwOb+hCjfaeKfI\n"
    "sP705DjgpQKBwAFLw1JKEHtzdn1OyErSXkVPexb3Xe9qPx0/IjRxDluNg/KGAxIM\n"
    "ixiqQ6i5n3cMsei4ppgYxST3plf7OxP7Vxp+/1Hd/xSGh3YOzy8CeGYLLa87yGlJ\n"
    "5Z+GV45fm/U8E8Vcb/abUKrWCYoc3WwvDXUX7JQM7/hrmiMmt0tEQTK8V9qNo2vX\n"
    "SL+9SGFXsXVu6V/Q8R30WfqzQLDm6kn4oi2IyLkg/NhbDjpb//ThpYDXlgy6Sr3Y\n"
    "r8doABzQUmwmYQKBwEj65sWHweCcl8RBhJ9zmE0cBd5ZZGJ6YcGTdVeCkqGQM6N0\n"
    "N/aZlmc+/2rf7tBZnDN1249LiqLEWMMx2pJb8FDpmH5Oew3hb8JWWhdzOU5NTP3H\n"
    "UEps12eih8Wkuay5I7RSUqYuRiWzJZhjWPzkde+UEONnXY18agktWpMUw9F5GFKg\n"
    "R+vnvrmqhaSpBwkL9QHk/jsOFM5AUsY/FfDf2+xZF4jj9Cxb5xHbpg0EiAfxAveJ\n"
    "4d4cQP+CTnzQL9Na/QKBwC4o4ixsr9vxx7FHgkYyU4Vh2xS8JjFkcZcImc7uo9u2\n"
    "AJu1jCvhHIPQ2EiEx/mKYziinShDv5APAtyvcAlNXsBvCb6FnG87G8bNn4GlPLUJ\n"
    "4uORwJnGEhIDQjiw3qBhjt1yh23X2U2KGPZ9tqSppy/buVBUiDJmi9e9eu2E5gWI\n"
    "Jbn87gV3k/8lYUcAsBG9M/iMByk1pUpLCuUuESKz10i0B9z+vHGVo+lls5A8aTQL\n"
    "LmmNyC5Sgf14W2UJhyPjFQ==\n"
    "-----END PRIVATE KEY-----\n"
;

static eh_saml_keys *trusted, *ours;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    char why[200];
    fz_init();
    FZ_CHECK(eh_saml_init() == EH_OK);
    trusted = eh_saml_keys_new();
    ours = eh_saml_keys_new();
    FZ_CHECK(eh_saml_keys_add_pem(trusted, EC256_PUB, strlen(EC256_PUB), why, sizeof(why)) == EH_OK);
    FZ_CHECK(eh_saml_keys_add_pem(trusted, RSA3072_PUB, strlen(RSA3072_PUB), why, sizeof(why)) ==
             EH_OK);
    FZ_CHECK(eh_saml_keys_add_pem(ours, RSA3072_PRIV, strlen(RSA3072_PRIV), why, sizeof(why)) ==
             EH_OK);
    return 0;
}

static int named(xmlNodePtr n, const char *name)
{
    return n != NULL && n->type == XML_ELEMENT_NODE && xmlStrEqual(n->name, BAD_CAST name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char why[200];
    xmlDocPtr doc = NULL;
    eh_rc rc = eh_saml_parse((const char *)data, size, &doc, why, sizeof(why));
    FZ_CHECK((rc == EH_OK) == (doc != NULL));
    if (doc == NULL)
        return 0;
    FZ_CHECK(doc->intSubset == NULL && doc->extSubset == NULL);
    xmlNodePtr root = xmlDocGetRootElement(doc);
    FZ_CHECK(root != NULL);

    xmlNodePtr sig = eh_saml_find_signature(root);
    if (sig != NULL) {
        xmlNodePtr covered = NULL;
        rc = eh_saml_verify(doc, sig, trusted, &covered, why, sizeof(why));
        FZ_CHECK((rc == EH_OK) == (covered != NULL));
        FZ_CHECK(rc != EH_OK || covered == root);
    }

    xmlNodePtr enc = named(root, "EncryptedData") ? root : root->children;
    while (enc != NULL && enc->type != XML_ELEMENT_NODE)
        enc = enc->next;
    if (enc != NULL && enc != root && named(enc, "EncryptedData")) {
        xmlNodePtr out = NULL;
        rc = eh_saml_decrypt(doc, enc, ours, &out, why, sizeof(why));
        FZ_CHECK((rc == EH_OK) == (out != NULL));
    }
    xmlFreeDoc(doc);
    return 0;
}
