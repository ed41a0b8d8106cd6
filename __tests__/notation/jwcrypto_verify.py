"""Verify a Notary Project JWS envelope (stdin) with jwcrypto, keyed by the leaf of its x5c.

jwcrypto rejects crit headers it does not know, so the Notary Project's are registered
(FORMATS.md B.2). It is lenient about padded base64url, so it is a second opinion on the
signature, not on the encoding. Prints the payload on success; exits non-zero otherwise.
"""
import base64
import json
import sys

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from jwcrypto import jwk, jws
from jwcrypto.common import JWSEHeaderParameter

NOTARY_HEADERS = [
    "io.cncf.notary.signingScheme",
    "io.cncf.notary.signingTime",
    "io.cncf.notary.authenticSigningTime",
    "io.cncf.notary.expiry",
    "io.cncf.notary.signingAgent",
]

text = sys.stdin.read()
envelope = json.loads(text)
leaf = x509.load_der_x509_certificate(base64.b64decode(envelope["header"]["x5c"][0]))
key = jwk.JWK.from_pem(
    leaf.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
)
protected = json.loads(base64.urlsafe_b64decode(envelope["protected"] + "=="))
token = jws.JWS(header_registry={k: JWSEHeaderParameter(k, False, True, None) for k in NOTARY_HEADERS})
token.deserialize(text)
token.verify(key, alg=protected["alg"])
print(token.payload.decode())
