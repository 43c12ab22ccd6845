"""What the playbook suites share: the collection as a user installs it."""
import os
import pathlib
import shutil
import subprocess

import pytest
import yaml

from labhosts import BIN, COLLECTION, ROOT


def bundled_collections():
    """Where the PyPI 'ansible' bundle keeps its collections (this project's Galaxy stand-in)."""
    import ansible_collections
    return pathlib.Path(list(ansible_collections.__path__)[-1])


@pytest.fixture(scope="session")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    build, path, empty = base / "build", base / "collections", base / "empty"
    for d in (build, path / "ansible_collections", empty):
        d.mkdir(parents=True)
    # The dependencies, as `ansible-galaxy collection install -r requirements.yml` would put them.
    for req in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]:
        ns, name = req["name"].split(".")
        shutil.copytree(bundled_collections() / ns / name, path / "ansible_collections" / ns / name, symlinks=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_HOME=str(base / "home"), PATH="%s:%s" % (BIN, os.environ["PATH"]))

    def run(*cmd, timeout=300):
        return subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=empty, env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    out = run("ansible-galaxy", "collection", "build", str(COLLECTION), "--output-path", str(build))
    assert out.returncode == 0, out.stdout + out.stderr
    tarball = next(build.glob("archipelago-node-*.tar.gz"))
    out = run("ansible-galaxy", "collection", "install", str(tarball), "-p", str(path), "--offline")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (path / "ansible_collections" / "archipelago" / "node" / "MANIFEST.json").is_file()
    return run, tarball
