"""v3 onion addresses (rend-spec-v3, "Encoding onion addresses"): base32 of the service's ed25519
public key (32 bytes), a 2-byte checksum and the version byte 3, then ".onion". The checksum is
the first 2 bytes of SHA3-256(".onion checksum" | pubkey | version)."""
import base64
import hashlib
import re

VERSION = b"\x03"


def onion_v3(pubkey):
    """The onion address of a 32-byte ed25519 public key."""
    if len(pubkey) != 32:
        raise ValueError(f"an ed25519 public key has 32 bytes, not {len(pubkey)}")
    checksum = hashlib.sha3_256(b".onion checksum" + pubkey + VERSION).digest()[:2]
    return base64.b32encode(pubkey + checksum + VERSION).decode().lower() + ".onion"


def is_onion_v3(address):
    """True for a well-formed v3 onion address (length, alphabet, version and checksum)."""
    m = re.fullmatch(r"([a-z2-7]{56})\.onion", address or "")
    if not m:
        return False
    raw = base64.b32decode(m.group(1).upper())
    return raw[34:] == VERSION and onion_v3(raw[:32]) == address


def fresh_onion_v3():
    """A valid v3 onion address of a key made now (so no Tor publishes it)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return onion_v3(Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))
