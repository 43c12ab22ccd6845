"""Password, sessions, double-submit CSRF and optional TOTP, as the backend's contract has them."""
import base64
import hashlib
import hmac
import json
import os
import secrets
import struct
import threading
import time

from .crypto import write_secret
from .errors import Forbidden, RpcError, Unauthorized

SESSION_TTL = 24 * 3600
PENDING_TTL = 300


def hash_password(password: str, salt: bytes = None) -> dict:
    salt = salt or os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)
    return {"scheme": "scrypt", "n": 2**14, "r": 8, "p": 1,
            "salt": salt.hex(), "hash": digest.hex()}


def check_password(password: str, stored: dict) -> bool:
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(stored["salt"]),
                            n=stored["n"], r=stored["r"], p=stored["p"], dklen=32)
    return hmac.compare_digest(digest.hex(), stored["hash"])


def totp(secret_b32: str, at: float = None, step: int = 30, digits: int = 6) -> str:
    """RFC 6238 TOTP (HMAC-SHA1)."""
    key = base64.b32decode(secret_b32.upper() + "=" * (-len(secret_b32) % 8))
    counter = int((time.time() if at is None else at) // step)
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 10**digits
    return str(code).zfill(digits)


class Auth:
    def __init__(self, data_dir):
        self.dir = os.path.join(data_dir, "auth")
        self.sessions = {}          # token -> {"csrf", "expires", "pending_totp"}
        self.lock = threading.Lock()

    # --- stored settings ---
    def _path(self, name):
        return os.path.join(self.dir, name)

    def _load(self, name):
        try:
            with open(self._path(name)) as fh:
                return json.load(fh)
        except FileNotFoundError:
            return None

    def is_setup(self):
        return self._load("password.json") is not None

    def set_password(self, password):
        if not isinstance(password, str) or len(password) < 8:
            raise RpcError("password must be a string of at least 8 characters", code=-32602)
        write_secret(self._path("password.json"), json.dumps(hash_password(password)).encode())

    def totp_secret(self):
        data = self._load("totp.json")
        return data["secret"] if data else None

    def enable_totp(self):
        secret = base64.b32encode(os.urandom(20)).decode().rstrip("=")
        write_secret(self._path("totp.json"), json.dumps({"secret": secret}).encode())
        return secret

    def disable_totp(self):
        try:
            os.unlink(self._path("totp.json"))
        except FileNotFoundError:
            pass

    # --- sessions ---
    def _new_session(self, pending):
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
        ttl = PENDING_TTL if pending else SESSION_TTL
        with self.lock:
            self.sessions[token] = {"csrf": csrf, "expires": time.time() + ttl, "pending_totp": pending}
        return token, csrf

    def login(self, password):
        stored = self._load("password.json")
        if stored is None:
            raise RpcError("the node is not set up yet (auth.setup)")
        if not isinstance(password, str) or not check_password(password, stored):
            raise RpcError("invalid password")
        pending = self.totp_secret() is not None
        return self._new_session(pending), pending

    def login_totp(self, token, code):
        sess = self.session(token, allow_pending=True)
        secret = self.totp_secret()
        if not sess or not sess["pending_totp"] or not secret:
            raise RpcError("no login waiting for a TOTP code")
        now = time.time()
        if not isinstance(code, str) or not any(hmac.compare_digest(totp(secret, now + d * 30), code) for d in (-1, 0, 1)):
            raise RpcError("invalid TOTP code")
        with self.lock:
            self.sessions.pop(token, None)
        return self._new_session(False)

    def session(self, token, allow_pending=False):
        with self.lock:
            sess = self.sessions.get(token or "")
            if sess and sess["expires"] < time.time():
                self.sessions.pop(token, None)
                sess = None
        if sess and sess["pending_totp"] and not allow_pending:
            return None
        return sess

    def logout(self, token):
        with self.lock:
            self.sessions.pop(token or "", None)

    def require(self, cookies, headers):
        """The session of an authenticated call: 401 without one, 403 on a CSRF mismatch."""
        sess = self.session(cookies.get("session"))
        if sess is None:
            raise Unauthorized("authentication required", code=401)
        header = headers.get("X-CSRF-Token") or ""
        cookie = cookies.get("csrf_token") or ""
        if not header or not hmac.compare_digest(header, sess["csrf"]) or not hmac.compare_digest(cookie, sess["csrf"]):
            raise Forbidden("CSRF token missing or invalid", code=403)
        return sess
