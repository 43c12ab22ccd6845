"""module_utils/health.py: judging one answer of `health`, and the bounded wait (fake clock)."""
import json

from ansible_collections.archipelago.node.plugins.module_utils.health import judge, wait_healthy

OK = json.dumps({"result": {"status": "ok", "version": "1.9.1"}, "error": None})


def test_judge():
    assert judge(200, OK) == (True, {"status": "ok", "version": "1.9.1"}, "healthy")
    assert judge(200, OK, "1.9.1")[0] is True
    healthy, dummy, why = judge(200, OK, "1.9.2")
    assert not healthy and "'1.9.1', not '1.9.2'" in why
    healthy, result, why = judge(200, json.dumps({"result": None, "error": {"code": -1, "message": "db down"}}))
    assert not healthy and result is None and why == "health answered an error: db down"
    healthy, dummy, why = judge(200, json.dumps({"result": {"status": "starting"}, "error": None}))
    assert not healthy and "'starting'" in why
    healthy, dummy, why = judge(502, "<html>Bad Gateway</html>")
    assert not healthy and "HTTP 502" in why and "not the backend's JSON envelope" in why
    healthy, dummy, why = judge(500, OK)    # an error status is not healthy, whatever the body says
    assert not healthy and "HTTP 500" in why
    healthy, dummy, why = judge(200, json.dumps({"result": {"status": "ok"}, "error": {}}))
    assert not healthy and "answered an error" in why


class Clock:
    def __init__(self):
        self.t = 100.0

    def __call__(self):
        return self.t

    def sleep(self, s):
        assert s >= 0
        self.t += s


def test_wait_until_healthy():
    clock = Clock()
    answers = iter([ConnectionRefusedError(111, "Connection refused"), (502, "bad gateway"),
                    (200, json.dumps({"result": {"status": "ok", "version": "1.9.0"}, "error": None})), (200, OK)])

    def post():
        a = next(answers)
        if isinstance(a, Exception):
            raise a
        return a
    r = wait_healthy(post, 60, version="1.9.1", clock=clock, sleep=clock.sleep)
    assert r["healthy"] and r["attempts"] == 4 and r["waited"] == 3.0 and r["health"]["version"] == "1.9.1"


def test_wait_is_bounded_and_reports_the_last_reason():
    clock = Clock()

    def post():
        clock.t += 0.5            # each question takes half a second
        raise ConnectionRefusedError(111, "Connection refused")
    r = wait_healthy(post, 10, clock=clock, sleep=clock.sleep)
    assert not r["healthy"] and r["health"] is None and "Connection refused" in r["last"]
    assert r["waited"] == 10.5 and r["attempts"] == 8     # the last question starts at the deadline


def test_timeout_zero_asks_once():
    clock = Clock()
    calls = []
    r = wait_healthy(lambda: calls.append(1) or (200, json.dumps({"result": {"status": "x"}, "error": None})), 0,
                     clock=clock, sleep=clock.sleep)
    assert calls == [1] and not r["healthy"] and r["waited"] == 0
