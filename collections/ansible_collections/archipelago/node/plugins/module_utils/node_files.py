# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Many whole files in one module run: what differs, each change validated before it lands.

Plain functions; the node_files module wires them to AnsibleModule. A file is a dict with
path, content, mode, owner, group, validate (a command with %s for the candidate file) and secret
(its content is never put in a diff)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import shlex

# Suboptions of one file, shared by the module's `files` and `secret_files` (whose content is
# no_log); one table so that the two never differ but in that.
FILE_OPTIONS = dict(
    path=dict(type="path", required=True),
    content=dict(type="str", required=True),
    mode=dict(type="raw", default="0644"),
    owner=dict(type="str", default="root"),
    group=dict(type="str", default="root"),
    validate=dict(type="str"),
)

MAX_BYTES = 4 * 1024 * 1024


class FilesError(Exception):
    """A file that cannot be planned or written; the message names it."""


def file_spec(no_log):
    """The spec of a list of files; with no_log, each file's content is a secret (the list itself
    is not: its paths and modes are shown)."""
    options = {k: dict(v) for k, v in FILE_OPTIONS.items()}
    options["content"]["no_log"] = no_log
    return dict(type="list", elements="dict", default=[], options=options, no_log=False)


DIR_OPTIONS = dict(
    path=dict(type="path", required=True),
    mode=dict(type="raw", default="0755"),
    owner=dict(type="str", default="root"),
    group=dict(type="str", default="root"),
)


def dir_spec():
    return dict(type="list", elements="dict", default=[], options={k: dict(v) for k, v in DIR_OPTIONS.items()})


def check_mode_value(path, mode):
    if mode is not None and not isinstance(mode, int) and not str(mode).isdigit():
        raise FilesError("mode for %s must be octal digits such as '0644', not %r" % (path, mode))


def check_directories(directories):
    for d in directories:
        if not os.path.isabs(d["path"]) or "\x00" in d["path"]:
            raise FilesError("folder %r must be an absolute path" % d["path"])
        check_mode_value(d["path"], d.get("mode"))


def check_files(files, directories=()):
    """Refuse what would make the run ambiguous or unsafe, before anything is read or written:
    relative paths, a path given twice or also as a folder, a validate command without %s or
    that does not split like a shell command, a content too large."""
    seen = set()
    folders = set(os.path.normpath(d["path"]) for d in directories)
    for f in files:
        path = f["path"]
        if not os.path.isabs(path) or "\x00" in path:
            raise FilesError("path %r must be an absolute path" % path)
        if os.path.normpath(path) in seen:
            raise FilesError("%s is given more than once" % path)
        seen.add(os.path.normpath(path))
        if os.path.normpath(path) in folders:
            raise FilesError("%s is given both as a file and as a folder" % path)
        if f.get("validate") and "%s" not in f["validate"]:
            raise FilesError("validate for %s must contain %%s (the candidate file)" % path)
        if f.get("validate"):
            try:
                shlex.split(f["validate"])
            except ValueError as exc:
                raise FilesError("validate for %s is not a command line (%s): %r" % (path, exc, f["validate"][:200]))
        if len(f["content"].encode("utf-8")) > MAX_BYTES:
            raise FilesError("content for %s is larger than %d bytes" % (path, MAX_BYTES))
        check_mode_value(path, f.get("mode"))


def read_current(path):
    """(bytes or None, error or None): the file as it is, None when absent. Only regular files."""
    if not os.path.lexists(path):
        return None, None
    if os.path.islink(path) or not os.path.isfile(path):
        return None, "%s exists and is not a regular file" % path
    if os.path.getsize(path) > MAX_BYTES:
        return None, "%s is larger than %d bytes" % (path, MAX_BYTES)
    with open(path, "rb") as fh:
        return fh.read(), None


def diff_entry(path, before, after):
    """One entry of a module's diff list; secret files get only a note, never content."""
    return {"before_header": path, "after_header": path,
            "before": "" if before is None else before.decode("utf-8", "replace"), "after": after}


def secret_diff_entry(path, before):
    note = "(content of a secret file is not shown)\n"
    return {"before_header": path, "after_header": path,
            "before": "" if before is None else note, "after": note + ("(changed)\n" if before is not None else "")}


def validate_command(template, candidate):
    """The validate command with %s as the candidate file's path, split like a shell would."""
    return [part.replace("%s", candidate) for part in shlex.split(template)]
