"""archipelago.node.credential, presentation and credential_info run by ansible-playbook, with
the DIDs published through an npm pkarr relay on loopback (tests/dhtpeers.py), and checked against
web5's Verifiable Credentials (npm @web5/credentials 1.1.3, not written here) both ways: web5
verifies what the modules issue and present, the module verifies what web5 issues and presents."""
import json
import pathlib

import pytest

from dhtpeers import Swarm, web5

import test_did_dht_interop as base
from test_did_dht_interop import task

identity = base.identity


@pytest.fixture(scope="module")
def swarm():
    s = Swarm()
    yield s
    s.stop()


@pytest.fixture
def peer(tmp_path):
    """A second node identity (issuer or verifier beside `identity`)."""
    folder = tmp_path / "peer"
    folder.mkdir()
    return base.make_identity(folder)


def vc_task(name, identity, **args):
    return {"name": name, "archipelago.node." + name: {"key_file": identity["path"], **args}}


def info_task(swarm, **args):
    return {"name": "credential_info", "archipelago.node.credential_info": {"relays": [swarm.relay], "retries": 1, **args}}


def published(play, swarm, *identities):
    rc, _, out = play([task(swarm, i) for i in identities])
    assert rc == 0, out


def test_issue_keep_present_and_verify_here_and_in_web5(play, swarm, identity, peer, tmp_path):
    """VC-01/04 on one pair: peer issues to identity, identity presents to peer, both verify."""
    published(play, swarm, identity, peer)
    path = tmp_path / "issued" / "to-identity.jwt"
    claims = {"trustedPeerOf": peer["did"], "establishedOn": "2026-12-01"}
    issue = vc_task("credential", peer, subject=identity["did"], types=["ArchipelagoTrustedPeer"], claims=claims,
                    path=str(path))
    rc, res, out = play([issue])
    assert rc == 0 and res[0]["changed"] and res[0]["reason"] == "the file holds no valid credential of this node", out
    assert res[0]["issuer"] == peer["did"] and res[0]["subject"] == identity["did"]
    token = path.read_text().strip()
    assert token == res[0]["credential"] and oct(path.stat().st_mode & 0o777) == "0o644"
    # kept: a second run, and check mode, change nothing
    rc, res, out = play([issue, dict(issue, check_mode=True)])
    assert rc == 0 and [r["changed"] for r in res] == [False, False] and res[0]["reason"] == "up to date", out
    # a changed claim: check mode says so with a diff and writes nothing; a run re-issues
    changed = vc_task("credential", peer, subject=identity["did"], types=["ArchipelagoTrustedPeer"],
                      claims=dict(claims, establishedOn="2026-12-02"), path=str(path))
    rc, res, out = play([changed], check=True, diff=True)
    assert rc == 0 and res[0]["changed"] and "2026-12-02" in res[0]["diff"]["after"], out
    assert "2026-12-02" not in res[0]["diff"]["before"] and path.read_text().strip() == token
    # the key is never in the output
    assert peer["seed"][:16] not in out

    # the holder presents it to the issuer, who verifies the presentation; so does web5
    rc, res, out = play([
        vc_task("presentation", identity, credential_files=[str(path)], audience=peer["did"], nonce="challenge-1"),
        info_task(swarm, path=str(path), issuer=peer["did"], subject=identity["did"])])
    assert rc == 0 and res[0]["changed"] is False and res[0]["holder"] == identity["did"], out
    assert res[1]["valid"] and res[1]["kind"] == "credential", res[1]
    assert res[1]["credential"]["claims"] == claims and res[1]["credential"]["types"] == ["ArchipelagoTrustedPeer"]
    vp = res[0]["presentation"]
    rc, res, out = play([info_task(swarm, presentation=vp, audience=peer["did"], nonce="challenge-1"),
                         info_task(swarm, presentation=vp, audience=peer["did"], nonce="challenge-2"),
                         info_task(swarm, presentation=vp, audience=identity["did"], nonce="challenge-1")])
    assert rc == 0, out
    assert res[0]["valid"] and res[0]["presentation"]["holder"] == identity["did"], res[0]
    assert res[0]["presentation"]["credentials"][0]["issuer"] == peer["did"]
    assert not res[1]["valid"] and "nonce" in res[1]["error"]
    assert not res[2]["valid"] and "not for" in res[2]["error"]
    theirs = web5("verify-vc", swarm.relay, token)
    assert theirs["issuer"] == peer["did"] and theirs["subject"] == identity["did"]
    assert theirs["vc"]["credentialSubject"]["trustedPeerOf"] == peer["did"]
    theirs = web5("verify-vp", swarm.relay, vp)
    assert theirs["issuer"] == identity["did"] and theirs["vp"]["verifiableCredential"] == [token]


def test_web5s_credentials_and_presentations_verify_here(play, swarm):
    made = web5("issue", swarm.relay)
    rc, res, out = play([info_task(swarm, credential=made["vc"], issuer=made["issuer"], subject=made["holder"]),
                         info_task(swarm, presentation=made["vp"], subject=made["holder"], issuer=made["issuer"])])
    assert rc == 0, out
    assert res[0]["valid"] and res[0]["credential"]["claims"]["trustedPeerOf"] == made["issuer"], res[0]
    assert res[0]["credential"]["types"] == ["ArchipelagoTrustedPeer"]
    assert res[1]["valid"] and res[1]["presentation"]["holder"] == made["holder"], res[1]


def test_bad_tokens_are_invalid_and_bad_options_fail_clearly(play, swarm, identity, peer, tmp_path):
    published(play, swarm, peer)
    path = tmp_path / "c.jwt"
    rc, res, out = play([vc_task("credential", peer, subject=identity["did"], path=str(path))])
    assert rc == 0, out
    h, p, s = path.read_text().strip().split(".")
    forged = "%s.%s.%s" % (h, p, s[:-3] + ("AAA" if not s.endswith("AAA") else "BBB"))
    unpublished = tmp_path / "by-unpublished.jwt"
    rc, res, out = play([vc_task("credential", identity, subject=peer["did"], path=str(unpublished))])
    assert rc == 0, out
    rc, res, out = play([info_task(swarm, credential=forged),
                         info_task(swarm, credential="not.a-jwt"),
                         info_task(swarm, path=str(unpublished)),
                         info_task(swarm, credential=path.read_text(), issuer=identity["did"])])
    assert rc == 0, out
    assert [r["valid"] for r in res] == [False] * 4
    assert "does not verify" in res[0]["error"]
    assert "base64url JSON" in res[1]["error"] or "not a compact JWS" in res[1]["error"]
    assert "cannot resolve the signer" in res[2]["error"] and "not found on any relay" in res[2]["error"]
    assert "not by %s" % identity["did"] in res[3]["error"]
    # bad options: a clear failure, nothing written
    other = tmp_path / "other.jwt"
    cases = [
        (vc_task("credential", peer, subject="did:key:z6Mk", path=str(other)), "is not a did:dht"),
        (vc_task("credential", peer, subject=identity["did"], claims={"id": "x"}, path=str(other)), "cannot hold 'id'"),
        (vc_task("credential", peer, subject=identity["did"], types=["has space"], path=str(other)), "types are names"),
        (vc_task("credential", peer, subject=identity["did"], valid_for=10, path=str(other)), "at least 3600"),
        (vc_task("presentation", peer, credential_files=[str(path)]), "not about this node"),
        (vc_task("presentation", peer), "at least one credential"),
        (info_task(swarm), "one of the following is required"),
    ]
    for t, message in cases:
        rc, res, out = play([t])
        assert rc != 0 and message in res[0]["msg"] and "Traceback" not in out, (message, res[0].get("msg"))
    assert not other.exists()
    # absent removes the file, then nothing to do
    rc, res, out = play([vc_task("credential", peer, subject=identity["did"], path=str(path), state="absent")] * 2)
    assert rc == 0 and [r["changed"] for r in res] == [True, False] and not path.exists(), out


def test_the_credential_modules_document_themselves():
    import subprocess
    import sys
    bin_dir = pathlib.Path(sys.executable).parent
    for name in ("credential", "credential_info", "presentation"):
        out = subprocess.run([str(bin_dir / "ansible-doc"), "--json", "archipelago.node." + name], capture_output=True,
                             text=True, env={"ANSIBLE_COLLECTIONS_PATH": str(base.pathlib.Path(__file__).resolve()
                                                                                 .parents[2] / "collections"),
                                             "PATH": "/usr/bin:/bin"})
        assert out.returncode == 0, out.stderr
        doc = json.loads(out.stdout)["archipelago.node." + name]["doc"]
        assert doc["options"] and doc["short_description"]
