"""node_files run by ansible-playbook on this machine (a folder under tmp_path stands for the
node): first run writes, second changes nothing, check mode writes nothing, a failed validate
leaves the old file, secrets never reach the output, bad input changes nothing."""
import os
import stat


def files_task(**kw):
    return {"archipelago.node.node_files": kw, "register": "r"}


def test_writes_then_changes_nothing_and_fixes_modes(play, tmp_path):
    d = tmp_path / "etc"
    spec = dict(directories=[{"path": str(d), "mode": "0750"}],
                files=[{"path": str(d / "a.conf"), "content": "a\n"},
                       {"path": str(d / "b.conf"), "content": "b\n", "mode": "0640", "validate": "grep -q b %s"}])
    rc, res, _ = play([files_task(**spec)])
    assert rc == 0 and res[0]["changed"], res
    assert res[0]["content_changed"] == [str(d / "a.conf"), str(d / "b.conf")]
    assert (d / "b.conf").read_text() == "b\n" and stat.S_IMODE((d / "b.conf").stat().st_mode) == 0o640
    assert stat.S_IMODE(d.stat().st_mode) == 0o750
    rc, res, _ = play([files_task(**spec)])
    assert rc == 0 and not res[0]["changed"] and res[0]["changed_files"] == []
    (d / "a.conf").chmod(0o600)
    rc, res, _ = play([files_task(**spec)])
    assert res[0]["changed"] and res[0]["changed_files"] == [str(d / "a.conf")] and res[0]["content_changed"] == []
    assert stat.S_IMODE((d / "a.conf").stat().st_mode) == 0o644


def test_check_mode_writes_nothing_and_diff_shows_the_change(play, tmp_path):
    target = tmp_path / "x.conf"
    target.write_text("old\n")
    rc, res, text = play([files_task(files=[{"path": str(target), "content": "new\n"},
                                            {"path": str(tmp_path / "new.conf"), "content": "n\n"}])],
                         check=True, diff=True)
    assert rc == 0 and res[0]["changed"] and len(res[0]["changed_files"]) == 2
    assert target.read_text() == "old\n" and not (tmp_path / "new.conf").exists()
    assert "new" in str(res[0]["diff"]) and "old" in str(res[0]["diff"])


def test_a_failed_check_leaves_the_file_as_it_was(play, tmp_path):
    target = tmp_path / "unit.service"
    target.write_text("good\n")
    rc, res, _ = play([files_task(files=[{"path": str(target), "content": "bad\n", "validate": "grep -q good %s"}])])
    assert rc != 0 and "was not written: its check" in res[0]["msg"] and str(target) in res[0]["msg"]
    assert target.read_text() == "good\n"
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".unit.service.")]   # no candidate left


def test_secret_content_never_reaches_the_output(play, tmp_path):
    secret = "S3CRET-value-xyz"
    rc, res, text = play([files_task(secret_files=[{"path": str(tmp_path / "app.env"), "content": f"KEY={secret}\n",
                                                    "mode": "0600"}])], diff=True)
    assert rc == 0 and res[0]["changed"]
    assert secret not in text
    assert (tmp_path / "app.env").read_text() == f"KEY={secret}\n"
    assert stat.S_IMODE((tmp_path / "app.env").stat().st_mode) == 0o600


def test_bad_input_is_refused_before_anything_is_written(play, tmp_path):
    good = {"path": str(tmp_path / "good.conf"), "content": "g\n"}
    for bad, message in (({"path": "relative.conf", "content": "x"}, "must be an absolute path"),
                         ({"path": str(tmp_path / "v.conf"), "content": "x", "validate": "true"}, "must contain %s"),
                         ({"path": str(tmp_path / "m.conf"), "content": "x", "mode": "rw-r--r--"}, "octal digits"),
                         (dict(good), "given more than once")):
        rc, res, _ = play([files_task(files=[good, bad])])
        assert rc != 0 and message in res[0]["msg"] and "nothing was written" in res[0]["msg"], res[0]["msg"]
        assert not (tmp_path / "good.conf").exists()
    (tmp_path / "dir.conf").mkdir()
    rc, res, _ = play([files_task(files=[good, {"path": str(tmp_path / "dir.conf"), "content": "x"}])])
    assert rc != 0 and "not a regular file" in res[0]["msg"] and not (tmp_path / "good.conf").exists()
