"""archipelago.node.dwn_protocol run by ansible-playbook against real lab API instances, and the
Archipelago protocol definitions (SCHEMA-01) judged by TBD's DWN reference implementation (npm
@tbd54566975/dwn-sdk-js 0.5.2, not written here): each is configured on an in-memory DWN."""
import json
import pathlib
import sys

from dhtpeers import web5

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.archipelago.node.plugins.module_utils import dwn_protocols as dp  # noqa: E402


def task(inst, **kw):
    return {"name": "dwn_protocol", "archipelago.node.dwn_protocol": {"url": inst.url + "/rpc/v1", **kw}}


def test_a_dwn_not_written_here_accepts_the_four_definitions():
    answer = web5("configure", json.dumps(dp.definitions()), script="dwn.mjs")
    assert [r["ok"] for r in answer["results"]] == [True] * 4, answer
    assert sorted(answer["listed"]) == sorted(d["protocol"] for d in dp.definitions())
    # and refuses a broken one (a role action without every read action), so the check can fail
    broken = dp.definitions()[2]
    broken["structure"]["snapshot"]["$actions"][0]["can"] = ["read"]
    answer = web5("configure", json.dumps([broken]), script="dwn.mjs")
    assert answer["results"][0]["ok"] is False and "read actions" in answer["results"][0]["error"]


def test_register_then_idempotent_with_check_mode_and_diff(play, spawn_api):
    a = spawn_api("alpha")
    rc, res, out = play([task(a)], check=True, diff=True)
    assert rc == 0 and res[0]["changed"] and len(res[0]["registered"]) == 4, out
    assert a.client().ok("dwn.list-protocols") == []            # check mode registered nothing
    assert "file-catalog" in res[0]["diff"]["after"] and res[0]["diff"]["before"] == ""
    rc, res, out = play([task(a)])
    assert rc == 0 and res[0]["changed"] and {r["reason"] for r in res[0]["registered"]} == {"not registered"}, out
    listed = a.client().ok("dwn.list-protocols")
    assert sorted(e["protocol"] for e in listed) == sorted(d["protocol"] for d in dp.definitions())
    assert all(e["definition"] == d for e, d in zip(sorted(listed, key=lambda e: e["protocol"]),
                                                    sorted(dp.definitions(), key=lambda d: d["protocol"])))
    rc, res, out = play([task(a), dict(task(a), check_mode=True)])
    assert rc == 0 and [r["changed"] for r in res] == [False, False] and len(res[0]["kept"]) == 4, out
    assert [c["method"] for c in res[0]["rpc_calls"]].count("dwn.register-protocol") == 0
    # a definition changed on the node is registered again; an operator's own protocol besides
    own = {"protocol": "https://operator.example/dwn/notes/v1", "published": False,
           "types": {"note": {"dataFormats": ["text/plain"]}}, "structure": {"note": {}}}
    rc, res, out = play([task(a, extra_definitions=[own])])
    assert rc == 0 and [r["protocol"] for r in res[0]["registered"]] == [own["protocol"]], out
    assert a.client().ok("dwn.status")["protocols"] == 5


def test_bad_definitions_fail_clearly_and_register_nothing(play, spawn_api):
    a = spawn_api("alpha")
    good = dp.definitions()[0]
    cases = [
        ([{"protocol": "notes", "published": True, "types": {"a": {}}, "structure": {"a": {}}}], "http(s) URI"),
        ([dict(good, published="yes")], "published must be true or false"),
        ([dict(good, types={})], "types must be a non-empty mapping"),
        ([dict(good, extra=1)], "unknown keys extra"),
        ([good, good], "defined twice"),
    ]
    for definitions, message in cases:
        rc, res, out = play([task(a, definitions=definitions)])
        assert rc != 0 and message in res[0]["msg"] and "Traceback" not in out, (message, res[0].get("msg"))
    assert a.client().ok("dwn.list-protocols") == []
