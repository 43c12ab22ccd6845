"""The lab's stand-in processes, run for real on loopback (no lab needed)."""
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from labhosts import ROOT, free_port, wait_until

STANDIN = ROOT / "lab" / "images" / "standin" / "standin.py"



def get(url):
    try:
        with urllib.request.urlopen(url, timeout=3) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())
    except OSError:
        return None, None


@pytest.fixture
def spawn():
    procs = []

    def start(path, **env):
        p = subprocess.Popen([sys.executable, str(path)], env={**os.environ, **env},
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        procs.append(p)
        return p
    yield start
    for p in procs:
        p.kill()
        p.wait()


def test_standin_serves_while_its_dependency_answers(spawn):
    dep_port, port = free_port(), free_port()
    spawn(STANDIN, STANDIN_NAME="db", STANDIN_PORT=str(dep_port))
    spawn(STANDIN, STANDIN_NAME="api", STANDIN_PORT=str(port), STANDIN_DEPENDS=f"localhost:{dep_port}")
    status, body = wait_until(lambda: (lambda r: r if r[0] == 200 else None)(get(f"http://127.0.0.1:{port}/health")),
                              20, "the stand-in to report healthy")
    assert body["dependencies"] == {f"localhost:{dep_port}": "ok"}


def test_standin_exits_when_a_name_does_not_resolve(spawn):
    p = spawn(STANDIN, STANDIN_NAME="web", STANDIN_PORT=str(free_port()),
              STANDIN_DEPENDS="no-such-service.invalid:8999", STANDIN_DEP_WAIT="2")
    assert p.wait(timeout=30) == 1
    assert "cannot resolve no-such-service.invalid" in p.stdout.read()


def test_standin_web_proxies_to_its_upstream(spawn):
    api_port, web_port = free_port(), free_port()
    spawn(STANDIN, STANDIN_NAME="api", STANDIN_PORT=str(api_port))
    spawn(STANDIN, STANDIN_NAME="web", STANDIN_PORT=str(web_port), STANDIN_UPSTREAM=f"127.0.0.1:{api_port}")
    wait_until(lambda: get(f"http://127.0.0.1:{web_port}/health")[0] == 200, 20, "web healthy")
    status, body = get(f"http://127.0.0.1:{web_port}/api/v1/backend-info")
    assert status == 200 and body["service"] == "api" and body["path"] == "/v1/backend-info"
