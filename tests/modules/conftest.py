"""Run the collection's modules with ansible-playbook on this machine against lab node API
instances on loopback (the fixtures of tests/api)."""
import json
import os
import pathlib
import subprocess
import sys
import tempfile

import pytest
import yaml

from labhosts import ROOT

from labapi import PASSWORD

BIN = pathlib.Path(sys.executable).parent


@pytest.fixture
def play(tmp_path):
    """play(tasks, check=False, diff=False) -> (rc, [task results of the host], stdout text)."""
    pw = tmp_path / "admin-password"
    pw.write_text(PASSWORD + "\n")
    pw.chmod(0o600)

    def run(tasks, check=False, diff=False):
        book = [{"name": "modules under test", "hosts": "localhost", "gather_facts": False,
                 "module_defaults": {"group/archipelago.node.rpc": {"password_file": str(pw), "retries": 1,
                                                                     "session_dir": str(tmp_path / "sessions")}},
                 "tasks": tasks}]
        f = tmp_path / "play.yml"
        f.write_text(yaml.safe_dump(book, sort_keys=False))
        env = {**os.environ, "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json",
               "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections"), "ANSIBLE_LOCALHOST_WARNING": "false",
               "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false"}
        cmd = [str(BIN / "ansible-playbook"), "-i", "localhost,", "-c", "local",
               "-e", f"ansible_python_interpreter={sys.executable}", str(f)]
        if check:
            cmd.append("--check")
        if diff:
            cmd.append("--diff")
        with tempfile.TemporaryFile("w+") as out:
            rc = subprocess.run(cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path).returncode
            out.seek(0)
            text = out.read()
        if "{" not in text:
            raise AssertionError(f"ansible-playbook printed no JSON (rc={rc}):\n{text[-3000:]}")
        data = json.loads(text[text.index("{"):])
        results = [t["hosts"]["localhost"] for p in data["plays"] for t in p["tasks"] if "localhost" in t["hosts"]]
        return rc, results, text
    run.password_file = str(pw)
    return run
