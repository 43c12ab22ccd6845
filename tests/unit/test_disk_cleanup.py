"""archy-disk-cleanup (roles/disk_cleanup/files): what it may remove, and its config checks."""
import json
import os

import pytest

from rolefile import load_role_file

c = load_role_file("disk_cleanup", "archy-disk-cleanup")


@pytest.mark.parametrize("name,rotated", [("syslog.1", True), ("syslog.2.gz", True), ("nginx-20261201.gz", True),
                                          ("app.log.old", True), ("syslog", False), ("access.log", False),
                                          ("db.sqlite", False), ("v1.2", True), ("app.gz", False)])
def test_which_names_are_rotated_logs(name, rotated):
    assert bool(c.ROTATED.match(name)) is rotated


def test_rotated_logs_oldest_first_and_no_symlinks(tmp_path):
    (tmp_path / "a.log.2.gz").write_text("old")
    os.utime(tmp_path / "a.log.2.gz", (1000, 1000))
    (tmp_path / "a.log.1").write_text("newer")
    (tmp_path / "a.log").write_text("current")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.1").write_text("x")
    os.symlink("/etc/passwd", tmp_path / "passwd.1")
    found = [p for _, _, p in c.rotated_logs([str(tmp_path)])]
    assert found[0].endswith("a.log.2.gz")
    assert {os.path.basename(p) for p in found} == {"a.log.2.gz", "a.log.1", "b.1"}


def test_unused_images_spare_used_and_kept_ones():
    images = [{"Id": "1" * 64, "Names": ["docker.io/archylab/electrs:1.0"], "Containers": 0, "Size": 100},
              {"Id": "2" * 64, "Names": ["docker.io/library/old:1"], "Containers": 0, "Size": 300},
              {"Id": "3" * 64, "Names": ["docker.io/archylab/tor:0.4.9"], "Containers": 1, "Size": 50},
              {"Id": "4" * 64, "Names": None, "Containers": 0, "Size": 10}, "junk"]
    out = c.unused_images(json.dumps(images), ["docker.io/archylab/electrs:1.0"])
    assert [i[0][0] for i in out] == ["2", "4"]          # largest first; used and kept ones spared


@pytest.mark.parametrize("cfg", ['[]', '{"paths": []}', '{"paths": ["rel"]}', '{"paths": ["/a/../etc"]}',
                                 '{"paths": ["/"], "percent": 80, "target_percent": 85}',
                                 '{"paths": ["/"], "journal_max": "lots"}', '{"paths": ["/"], "volumes": true}',
                                 '{"paths": ["/"], "keep_images": [""]}'])
def test_bad_configs_are_refused(cfg):
    with pytest.raises(ValueError):
        c.load_config(cfg)


def test_below_the_threshold_nothing_is_touched(tmp_path):
    (tmp_path / "x.1").write_text("rotated")
    said = []
    done, freed, _ = c.cleanup({"paths": [str(tmp_path)], "percent": 99, "target_percent": 98,
                                "log_dirs": [str(tmp_path)]}, False, said.append)
    assert done == {"journal": 0, "logs": 0, "images": 0} and freed == 0 and (tmp_path / "x.1").exists()
    assert "nothing to do" in said[0]


def test_only_logs_on_a_full_filesystem_are_removed(tmp_path, monkeypatch):
    """A rotated log on another filesystem frees nothing where space is needed: it stays, and the
    journal and image steps run only when their own filesystem is full."""
    full_dir, other = tmp_path / "full", tmp_path / "other"
    full_dir.mkdir(), other.mkdir()
    (full_dir / "a.1").write_text("x" * 10)
    (other / "b.1").write_text("y" * 10)
    os.utime(other / "b.1", (1000, 1000))                 # the oldest: first in line
    devs = {str(full_dir): 1, str(other): 2, "/var/log/journal": 2, "/store": 2}
    monkeypatch.setattr(c, "device", lambda p: next((d for k, d in devs.items() if p.startswith(k)), None))
    monkeypatch.setattr(c, "used_percent", lambda p: 95.0 if (full_dir / "a.1").exists() else 10.0)
    ran = []
    monkeypatch.setattr(c, "run", lambda argv, timeout: ran.append(argv) or (0, "[]", ""))
    said = []
    done, freed, _ = c.cleanup({"paths": [str(full_dir)], "percent": 85, "target_percent": 80,
                                "journal_max": "10M", "image_store": "/store",
                                "log_dirs": [str(other), str(full_dir)]}, False, said.append)
    assert done == {"journal": 0, "logs": 1, "images": 0} and freed == 10, said
    assert not (full_dir / "a.1").exists() and (other / "b.1").exists()
    assert ran == []


def test_a_full_image_store_lets_the_image_step_run(tmp_path, monkeypatch):
    monkeypatch.setattr(c, "device", lambda p: 1)
    monkeypatch.setattr(c, "used_percent", lambda p: 95.0)
    images = [{"Id": "9" * 64, "Names": ["localhost/old:1"], "Containers": 0, "Size": 5}]
    ran = []
    monkeypatch.setattr(c, "run", lambda argv, timeout: ran.append(argv) or (0, json.dumps(images), ""))
    done, freed, _ = c.cleanup({"paths": [str(tmp_path)], "percent": 85, "target_percent": 80,
                                "journal_max": "", "log_dirs": [], "deadline_sec": 30}, True, [].append)
    assert done["images"] == 1 and freed == 5 and ran == [["/usr/bin/podman", "images", "--format", "json"]]
