"""Encrypted backups of the node's identity, federation and settings.

File format (lab's choice): b"ARCHYBK1" | salt (16) | nonce (12) | ChaCha20-Poly1305(ciphertext+tag),
the key derived with Argon2id (64 MiB, 3 iterations, parallelism 1) from the passphrase; the
plaintext is a gzip'd tar of identity/, federation/ and /etc/archipelago. Files are 0600.
"""
import hashlib
import io
import shutil
import json
import os
import re
import secrets
import tarfile
import time

from argon2.low_level import Type, hash_secret_raw
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from .crypto import write_secret
from .errors import RpcError

MAGIC = b"ARCHYBK1"
ARGON2 = {"time_cost": 3, "memory_cost": 64 * 1024, "parallelism": 1}
ID_RE = re.compile(r"^[0-9]{8}T[0-9]{6}Z-[0-9a-f]{8}$")


def derive_key(passphrase: str, salt: bytes) -> bytes:
    return hash_secret_raw(passphrase.encode(), salt, hash_len=32, type=Type.ID, **ARGON2)


def seal(plaintext: bytes, passphrase: str) -> bytes:
    salt, nonce = os.urandom(16), os.urandom(12)
    return MAGIC + salt + nonce + ChaCha20Poly1305(derive_key(passphrase, salt)).encrypt(nonce, plaintext, MAGIC)


def unseal(blob: bytes, passphrase: str) -> bytes:
    if len(blob) < len(MAGIC) + 28 + 16 or not blob.startswith(MAGIC):
        raise RpcError("not an Archipelago backup (bad header)")
    salt, nonce, ct = blob[8:24], blob[24:36], blob[36:]
    try:
        return ChaCha20Poly1305(derive_key(passphrase, salt)).decrypt(nonce, ct, MAGIC)
    except InvalidTag:
        raise RpcError("backup failed authentication: wrong passphrase or the file was altered")


class Backups:
    def __init__(self, cfg):
        self.cfg = cfg
        self.dir = os.path.join(cfg.data_dir, "backups")

    def _path(self, backup_id):
        if not isinstance(backup_id, str) or not ID_RE.match(backup_id):
            raise RpcError("invalid backup id", code=-32602)
        path = os.path.join(self.dir, backup_id + ".archybk")
        if not os.path.exists(path):
            raise RpcError(f"no backup {backup_id}")
        return path

    def _payload(self, label):
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w:gz") as tar:
            for rel in ("identity", "federation"):
                path = os.path.join(self.cfg.data_dir, rel)
                if os.path.isdir(path):
                    tar.add(path, arcname=rel)
            if os.path.isdir(self.cfg.config_dir):
                tar.add(self.cfg.config_dir, arcname="etc")
            meta = json.dumps({"label": label, "created_at": int(time.time())}).encode()
            info = tarfile.TarInfo("backup.json")
            info.size = len(meta)
            tar.addfile(info, io.BytesIO(meta))
        return buf.getvalue()

    def create(self, passphrase, label):
        if not isinstance(passphrase, str) or len(passphrase) < 8:
            raise RpcError("passphrase must be at least 8 characters", code=-32602)
        blob = seal(self._payload(label), passphrase)
        backup_id = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + secrets.token_hex(4)
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        write_secret(os.path.join(self.dir, backup_id + ".archybk"), blob)
        meta = {"label": label}
        write_secret(os.path.join(self.dir, backup_id + ".json"), json.dumps(meta).encode())
        return self._describe(backup_id)

    def _describe(self, backup_id):
        path = os.path.join(self.dir, backup_id + ".archybk")
        try:
            with open(os.path.join(self.dir, backup_id + ".json")) as fh:
                label = json.load(fh).get("label")
        except (FileNotFoundError, ValueError):
            label = None
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        st = os.stat(path)
        return {"id": backup_id, "label": label, "size": st.st_size, "created_at": int(st.st_mtime), "sha256": digest}

    def list(self):
        if not os.path.isdir(self.dir):
            return []
        ids = sorted(f[:-len(".archybk")] for f in os.listdir(self.dir) if f.endswith(".archybk"))
        return [self._describe(i) for i in ids if ID_RE.match(i)]

    def verify(self, backup_id, passphrase):
        with open(self._path(backup_id), "rb") as fh:
            data = unseal(fh.read(), passphrase)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            names = tar.getnames()
        return {"id": backup_id, "valid": True, "entries": len(names),
                "has_identity": any(n.startswith("identity") for n in names)}

    RESTORED = ("identity", "federation")

    def restore(self, backup_id, passphrase):
        """Put the backup's identity/ and federation/ back in place of the node's (what a restore
        onto a rebuilt node does; /etc is left as it is). Only plain files and folders under those
        two are taken; a backup holding anything else there is refused before anything is written."""
        with open(self._path(backup_id), "rb") as fh:
            data = unseal(fh.read(), passphrase)
        files = {}
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            for member in tar.getmembers():
                top = member.name.split("/", 1)[0]
                if top not in self.RESTORED:
                    continue
                parts = member.name.split("/")
                if member.name.startswith("/") or ".." in parts or not (member.isfile() or member.isdir()):
                    raise RpcError(f"backup {backup_id} holds an entry that cannot be restored: {member.name[:80]}")
                if member.isfile():
                    files[member.name] = tar.extractfile(member).read()
        if not any(n.startswith("identity/") for n in files):
            raise RpcError(f"backup {backup_id} holds no identity")
        for top in self.RESTORED:
            staged = os.path.join(self.cfg.data_dir, "." + top + ".restore")
            if os.path.isdir(staged):
                shutil.rmtree(staged)
            os.makedirs(staged, mode=0o700)
            for name, body in files.items():
                if name.split("/", 1)[0] != top or "/" not in name:
                    continue
                dest = os.path.join(staged, name.split("/", 1)[1])
                os.makedirs(os.path.dirname(dest), mode=0o700, exist_ok=True)
                write_secret(dest, body)
            live = os.path.join(self.cfg.data_dir, top)
            old = live + ".before-restore"
            if os.path.isdir(old):
                shutil.rmtree(old)
            if os.path.isdir(live):
                os.rename(live, old)
            os.rename(staged, live)
            if os.path.isdir(old):
                shutil.rmtree(old)
        return {"id": backup_id, "restored": sorted(files)}

    def delete(self, backup_id):
        path = self._path(backup_id)
        os.unlink(path)
        try:
            os.unlink(path[:-len(".archybk")] + ".json")
        except FileNotFoundError:
            pass
        return {"id": backup_id, "deleted": True}
