"""Tokens at rest: encrypted with Fernet (`cryptography`) under a key derived from SECRET_KEY
with HKDF; SECRET_KEY_FALLBACKS still decrypt. The database alone does not give them away.

Every token read from the database or received from Trakt passes through `seal` or `unseal`,
which also tell the log redaction about it: from then on no log line may hold it.
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.utils.encoding import force_bytes

from nowwatching.redaction import redact_also

_HKDF_SALT = b"nowwatching/trakt-token"


_HKDF_INFO = b"fernet-v1"


def seal(value: str) -> str:
    """`value` encrypted with the key derived from SECRET_KEY (Fernet: AES-128-CBC + HMAC).
    Every token passes here or through `unseal`: from now on no log line may hold it."""
    redact_also(value)
    return _fernet(_secret_keys()).encrypt(value.encode()).decode("ascii")


def unseal(value: str) -> str:
    """What `seal` encrypted, with SECRET_KEY or one of SECRET_KEY_FALLBACKS; InvalidToken
    when none of them can."""
    token = _fernet(_secret_keys()).decrypt(value.encode("ascii")).decode()
    redact_also(token)
    return token


def _secret_keys() -> tuple:
    return (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS)


@functools.lru_cache(maxsize=4)
def _fernet(secret_keys: tuple) -> MultiFernet:
    return MultiFernet([Fernet(_derived_key(secret)) for secret in secret_keys])


def _derived_key(secret) -> bytes:
    # A key of its own, so the tokens' key is not Django's signing key itself.
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(key.derive(force_bytes(secret)))
