"""The keys that sign access tokens: a private JWK set in a file, made with one ES256 key on first start.

Rotation (`karngar rotate-signing-key`) puts a new key first in the file, which makes it the signing key,
and gives every older key a retirement time: when the last token it signed has expired (token lifetime
plus a minute of clock skew). Until then the old key stays in the JWKS and still verifies; after it, it is
neither published nor accepted, and the next rotation or `--retire` deletes it from the file. Running
processes notice a changed file within a second, so every worker and host sharing the file agree.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from joserfc.jwk import ECKey, Key, KeySet, KeySetSerialization

ALGORITHM = "ES256"
CLOCK_SKEW_SECONDS = 60
RECHECK_SECONDS = 1.0


class SigningKeys:
    """Signs with the file's first key and publishes every key not yet retired, so a retiring key still verifies."""

    algorithm = ALGORITHM

    def __init__(self, keys: list[Key], retire_at: dict[str, float] | None = None, path: Path | None = None) -> None:
        self._path = path
        self._file_identity: tuple[int, int, int] | None = None
        self._checked_at = time.monotonic()
        self._use(keys, retire_at or {})

    def _use(self, keys: list[Key], retire_at: dict[str, float]) -> None:
        if not keys or not all(_is_private_p256(key) for key in keys):
            raise ValueError("the signing key set must hold private P-256 (ES256) keys and nothing else")
        all_keys = KeySet(keys)  # sets every missing kid to the key's RFC 7638 thumbprint
        now = time.time()
        signing = all_keys.keys[0]
        # The signing key is never retired; older keys only until their retirement time.
        live = [signing, *(key for key in all_keys.keys[1:] if retire_at.get(str(key.kid), float("inf")) > now)]
        self._retire_at = {kid: at for kid, at in retire_at.items() if kid in {str(key.kid) for key in live}}
        self._keys = KeySet(live)
        self._private_key = signing
        # The signing key alone, as a set: that is what makes joserfc write its kid into the header.
        self._signing_key_set = KeySet([signing])
        self._verification_keys = KeySet.import_key_set(self._public_jwks())

    def _fresh(self) -> None:
        """At most once a second: pick up a rotated file, and drop keys whose retirement time has come."""
        now = time.monotonic()
        if now - self._checked_at < RECHECK_SECONDS:
            return
        self._checked_at = now
        if self._path is not None:
            with contextlib.suppress(OSError):
                identity = _identity(self._path)
                if identity != self._file_identity:
                    keys, retire_at = _read(self._path)
                    self._use(keys, retire_at)
                    self._file_identity = identity
                    return
        if self._retire_at and min(self._retire_at.values()) <= time.time():
            self._use(list(self._keys.keys), self._retire_at)

    @property
    def private_key(self) -> Key:
        self._fresh()
        return self._private_key

    @property
    def signing_key_set(self) -> KeySet:
        self._fresh()
        return self._signing_key_set

    @property
    def verification_keys(self) -> KeySet:
        self._fresh()
        return self._verification_keys

    @property
    def kid(self) -> str:
        return str(self.private_key.kid)

    def public_jwks(self) -> KeySetSerialization:
        self._fresh()
        return self._public_jwks()

    def _public_jwks(self) -> KeySetSerialization:
        return {"keys": [key.as_dict(private=False, alg=ALGORITHM, use="sig") for key in self._keys]}

    @classmethod
    def load_or_create(cls, path: Path) -> SigningKeys:
        if not path.exists():
            _create_key_file(path)
        identity = _identity(path)
        keys, retire_at = _read(path)
        loaded = cls(keys, retire_at, path)
        loaded._file_identity = identity
        return loaded


def rotate(path: Path, token_ttl_seconds: int) -> tuple[str, dict[str, float]]:
    """Make a new signing key; older keys retire when the tokens they signed have expired.

    Returns the new kid and the retirement time (Unix seconds) of every older key still kept."""
    with _locked(path):
        keys, retire_at = _read(path) if path.exists() else ([], {})
        now = time.time()
        for key in KeySet(keys).keys if keys else []:
            retire_at.setdefault(str(key.kid), now + token_ttl_seconds + CLOCK_SKEW_SECONDS)
        new_key = ECKey.generate_key("P-256", auto_kid=True)
        kept = [key for key in (KeySet(keys).keys if keys else []) if retire_at[str(key.kid)] > now]
        retiring = {str(key.kid): retire_at[str(key.kid)] for key in kept}
        _write(path, [new_key, *kept], retiring)
        return str(new_key.kid), retiring


def retire(path: Path, *, force: bool = False) -> list[str]:
    """Delete older keys whose tokens have expired (all older keys with force, e.g. after a leak: the
    tokens they signed stop working at once). Returns the kids removed."""
    with _locked(path):
        keys, retire_at = _read(path)
        signing, *older = KeySet(keys).keys
        now = time.time()
        kept = [key for key in older if not force and retire_at.get(str(key.kid), float("inf")) > now]
        kept_kids = {str(key.kid) for key in kept}
        removed = [str(key.kid) for key in older if str(key.kid) not in kept_kids]
        if removed:
            _write(path, [signing, *kept], {str(key.kid): retire_at[str(key.kid)] for key in kept})
        return removed


def _is_private_p256(key: Key) -> bool:
    return isinstance(key, ECKey) and key.is_private and key.curve_name == "P-256"


def _identity(path: Path) -> tuple[int, int, int]:
    stat = path.stat()
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


def _read(path: Path) -> tuple[list[Key], dict[str, float]]:
    data = json.loads(path.read_text())
    retire_at = {str(kid): float(at) for kid, at in data.get("retire_at", {}).items()}
    return list(KeySet.import_key_set({"keys": data["keys"]}).keys), retire_at


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One rotation at a time: two operators rotating together must not lose a key."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _write(path: Path, keys: list[Key], retire_at: dict[str, float]) -> None:
    """Replace the file in one step (readers see the old set or the new one, never half), mode 0600."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
    try:
        with os.fdopen(descriptor, "w") as file:
            json.dump({**KeySet(keys).as_dict(private=True), "retire_at": retire_at}, file)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
        raise


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
