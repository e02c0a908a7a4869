"""The keys that sign access tokens: a private JWK set in a file, made with one ES256 key on first start."""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from joserfc.jwk import ECKey, Key, KeySet

ALGORITHM = "ES256"


class SigningKeys:
    """Signs with the file's first key and publishes all of them, so a retiring key still verifies."""

    algorithm = ALGORITHM

    def __init__(self, keys: list[Key]) -> None:
        if not keys or not all(_is_private_p256(key) for key in keys):
            raise ValueError("the signing key set must hold private P-256 (ES256) keys and nothing else")
        self._keys = KeySet(keys)  # sets every missing kid to the key's RFC 7638 thumbprint
        self.private_key = keys[0]
        # The signing key alone, as a set: that is what makes joserfc write its kid into the header.
        self.signing_key_set = KeySet([self.private_key])
        self.verification_keys = KeySet.import_key_set(self.public_jwks())

    @property
    def kid(self) -> str:
        return str(self.private_key.kid)

    def public_jwks(self) -> dict[str, Any]:
        return {"keys": [key.as_dict(private=False, alg=ALGORITHM, use="sig") for key in self._keys]}

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKeys:
        if not path.exists():
            _create_key_file(path)
        return cls(KeySet.import_key_set(json.loads(path.read_text())).keys)


def _is_private_p256(key: Key) -> bool:
    return isinstance(key, ECKey) and key.is_private and key.curve_name == "P-256"


def _create_key_file(path: Path) -> None:
    """Write a new key set, complete, or not at all: processes starting together agree on one key."""
    key = ECKey.generate_key("P-256", auto_kid=True)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")  # mode 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump(KeySet([key]).as_dict(private=True), file)
        # link() refuses to replace an existing file, so the first process to get here wins.
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)
