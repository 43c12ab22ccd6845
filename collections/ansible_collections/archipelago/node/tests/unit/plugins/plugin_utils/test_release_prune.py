"""plugin_utils/release.py: which staged releases a node removes after a release passes."""

import pytest

from ansible_collections.archipelago.node.plugins.plugin_utils.release import prune, staged_version

S = "/opt/archipelago/releases"


def staged(version, mtime, tarball=True):
    items = [{"path": f"{S}/{version}", "mtime": mtime, "isdir": True}]
    if tarball:
        items.append({"path": f"{S}/archipelago-{version}.tar.gz", "mtime": mtime + 1, "isdir": False})
    return items


def test_keeps_the_newest_versions_and_removes_both_files_of_the_older():
    files = staged("1.0", 100) + staged("1.1", 200) + staged("1.2", 300)
    assert prune(files, "1.2", 2) == [f"{S}/1.0", f"{S}/archipelago-1.0.tar.gz"]


def test_the_current_release_stays_even_when_older_files_say_otherwise():
    files = staged("2.0", 100) + staged("1.9-crash", 500) + staged("1.8", 400)
    assert prune(files, "2.0", 1) == sorted([f"{S}/1.9-crash", f"{S}/archipelago-1.9-crash.tar.gz",
                                             f"{S}/1.8", f"{S}/archipelago-1.8.tar.gz"])


def test_a_version_is_as_new_as_its_newest_file():
    files = [{"path": f"{S}/1.0", "mtime": 10, "isdir": True},
             {"path": f"{S}/archipelago-1.0.tar.gz", "mtime": 900, "isdir": False}] + staged("1.1", 500) + staged("3", 1000)
    assert prune(files, "3", 2) == [f"{S}/1.1", f"{S}/archipelago-1.1.tar.gz"]


def test_nothing_to_remove_and_files_that_are_not_releases_stay():
    files = staged("1.0", 100) + [{"path": f"{S}/notes.txt", "mtime": 1, "isdir": False}]
    assert prune(files, "1.0", 2) == []
    assert prune([], "1.0", 2) == []


def test_keep_must_leave_the_current_release():
    with pytest.raises(ValueError, match="at least 1"):
        prune(staged("1.0", 1), "1.0", 0)


@pytest.mark.parametrize("path,is_dir,version", [
    (f"{S}/1.9.1-lab.17", True, "1.9.1-lab.17"), (f"{S}/archipelago-1.9.1.tar.gz", False, "1.9.1"),
    (f"{S}/archipelago-1.9.1.zip", False, None), (f"{S}/other.tar.gz", False, None)])
def test_staged_version(path, is_dir, version):
    assert staged_version(path, is_dir) == version
