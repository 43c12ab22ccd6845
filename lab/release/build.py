#!/usr/bin/env python3
"""Build lab releases of the backend + frontend for the canary tests.

A release is archipelago-<version>.tar.gz with
  bin/archipelago    the lab node API as one executable file (a Python zipapp), as the real
                     backend is one binary at /usr/local/bin/archipelago
  web-ui/            the frontend (an index page naming the version)
and beside it archipelago-<version>.tar.gz.sha256. A broken release has a lab fault baked in:
  crash      exits at start (systemd restarts it, it never becomes healthy)
  hang       healthy over RPC, but never pings the systemd watchdog (killed after WatchdogSec)
  unhealthy  runs, but `health` answers with an error
The bytes are reproducible: fixed timestamps and owners, so a rebuild has the same checksum.

Usage: build.py OUTDIR VERSION [--fault crash|hang|unhealthy]
"""
import argparse
import gzip
import hashlib
import io
import os
import pathlib
import re
import shutil
import sys
import tarfile
import tempfile
import zipapp

API = pathlib.Path(__file__).resolve().parent.parent / "api" / "archylab_api"
EPOCH = 1700000000
MAIN = '''import os
os.environ.setdefault("ARCHIPELAGO_LAB_FAULT", {fault!r})
from archylab_api.server import main
main()
'''


def zipapp_bytes(version, fault):
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "app"
        shutil.copytree(API, src / "archylab_api", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        init = src / "archylab_api" / "__init__.py"
        init.write_text(re.sub(r'^VERSION = .*$', "VERSION = %r" % version, init.read_text(), flags=re.M))
        (src / "__main__.py").write_text(MAIN.format(fault=fault or ""))
        for p in sorted(src.rglob("*")):
            os.utime(p, (EPOCH, EPOCH))
        out = pathlib.Path(tmp) / "archipelago.pyz"
        zipapp.create_archive(src, out, interpreter="/usr/bin/python3")
        return out.read_bytes()


def add(tar, name, data, mode):
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.mtime = len(data), mode, EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = "root"
    tar.addfile(info, io.BytesIO(data))


def add_dir(tar, name):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, EPOCH
    info.uname = info.gname = "root"
    tar.addfile(info)


def build(outdir, version, fault=None):
    if not re.match(r"^[0-9A-Za-z][0-9A-Za-z.+-]*$", version):
        raise SystemExit("version %r: use letters, digits, '.', '+' and '-'" % version)
    page = ("<!doctype html><title>Archipelago %s</title><h1>Archipelago</h1><p>release %s</p>\n"
            % (version, version)).encode()
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        add_dir(tar, "bin")
        add(tar, "bin/archipelago", zipapp_bytes(version, fault), 0o755)
        add_dir(tar, "web-ui")
        add(tar, "web-ui/index.html", page, 0o644)
        add(tar, "web-ui/VERSION", (version + "\n").encode(), 0o644)
    out = pathlib.Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    artifact = out / ("archipelago-%s.tar.gz" % version)
    with open(artifact, "wb") as fh, gzip.GzipFile(fileobj=fh, mode="wb", mtime=EPOCH, filename="") as gz:
        gz.write(raw.getvalue())
    digest = hashlib.sha256(artifact.read_bytes()).hexdigest()
    (out / (artifact.name + ".sha256")).write_text("%s  %s\n" % (digest, artifact.name))
    return artifact, digest


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("outdir")
    parser.add_argument("version")
    parser.add_argument("--fault", choices=["crash", "hang", "unhealthy"])
    args = parser.parse_args()
    artifact, digest = build(args.outdir, args.version, args.fault)
    print("%s sha256:%s" % (artifact, digest))


if __name__ == "__main__":
    sys.exit(main())
