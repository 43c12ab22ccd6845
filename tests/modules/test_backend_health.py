"""backend_health run by ansible-playbook against lab API instances: healthy (with and without a
version), a backend whose health answers an error, one that is down, one that comes up during
the wait, and bad input."""
import socket
import subprocess
import sys
import threading
import time

from labapi import API


def health(url, **kw):
    return {"archipelago.node.backend_health": {"url": url + "/rpc/v1", **kw}}


def test_healthy_and_version(play, spawn_api):
    a = spawn_api("alpha")
    rc, res, _ = play([health(a.url, timeout=5), health(a.url, timeout=0, fail_when_unhealthy=False,
                                                        version="0.0.0-not-this")], check=True)
    assert rc == 0
    assert res[0]["healthy"] and res[0]["health"]["status"] == "ok" and not res[0]["changed"] and res[0]["attempts"] == 1
    assert not res[1]["healthy"] and "not '0.0.0-not-this'" in res[1]["last"]


def test_unhealthy_backend_fails_with_its_answer(play, spawn_api):
    a = spawn_api("alpha", {"ARCHIPELAGO_LAB_FAULT": "unhealthy"})
    t0 = time.monotonic()
    rc, res, _ = play([health(a.url, timeout=2, interval=0.5)])
    assert rc != 0 and time.monotonic() - t0 < 60
    msg = res[0]["msg"]
    assert "was not healthy within 2.0 s" in msg and "health answered an error: lab fault" in msg, msg
    assert res[0]["attempts"] >= 3 and not res[0]["healthy"]


def test_down_then_up_within_the_wait(play, spawn_api):
    a = spawn_api("alpha")
    a.stop()
    rc, res, _ = play([health(a.url, timeout=1, interval=0.2)])
    assert rc != 0 and "no answer" in res[0]["msg"] and "Connection refused" in res[0]["msg"], res[0]["msg"]

    # The backend comes back on its port only after the module's first attempt failed: a listener
    # takes that attempt and drops it, then the same backend starts (no timer racing the module).
    gate = socket.socket()
    gate.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    gate.bind(("127.0.0.1", a.port))
    gate.listen()
    gate.settimeout(60)

    def first_attempt_then_up():
        conn, _ = gate.accept()
        conn.close()
        gate.close()
        a.proc = subprocess.Popen([sys.executable, str(API)], env=a.env, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
    backend = threading.Thread(target=first_attempt_then_up, daemon=True)
    backend.start()
    rc, res, _ = play([health(a.url, timeout=30, interval=0.2)])
    backend.join(10)
    assert rc == 0 and res[0]["healthy"] and res[0]["attempts"] > 1 and res[0]["waited"] > 0, res[0]


def test_bad_input_is_a_clear_error(play):
    rc, res, _ = play([health("http://127.0.0.1:1", timeout=-1)])
    assert rc != 0 and "timeout must be from 0 to 3600 seconds" in res[0]["msg"]
    rc, res, _ = play([{"archipelago.node.backend_health": {"url": "127.0.0.1:5678/rpc/v1"}}])
    assert rc != 0 and "must be an http:// or https:// URL" in res[0]["msg"]
