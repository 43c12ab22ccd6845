# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Which staged releases a node can let go of.

The release role copies each release to <staging>/archipelago-<version>.tar.gz and unpacks it to
<staging>/<version>. After a release passes its health gate, the staged files of the newest
`keep` versions stay (the one just installed among them); those of older versions go. A version
is as new as its most recently modified staged file. Anything else in the folder is left alone.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

TARBALL = re.compile(r"^archipelago-(?P<version>.+)\.tar\.gz$")


def staged_version(path, is_dir):
    """The release version a staged path belongs to, or None when it is not a staged release."""
    name = os.path.basename(str(path).rstrip("/"))
    if is_dir:
        return name or None
    m = TARBALL.match(name)
    return m.group("version") if m else None


def prune(staged, current, keep):
    """The paths to remove from `staged` (dicts with path, mtime, isdir, as ansible's find
    returns them), keeping the newest `keep` versions and always `current`."""
    if int(keep) < 1:
        raise ValueError("keep must be at least 1 (the release just installed), not %r" % (keep,))
    newest = {}
    paths = {}
    for item in staged:
        version = staged_version(item["path"], item.get("isdir", False))
        if version is None:
            continue
        newest[version] = max(newest.get(version, float("-inf")), float(item.get("mtime", 0)))
        paths.setdefault(version, []).append(item["path"])
    others = sorted((v for v in newest if v != current), key=lambda v: (newest[v], v), reverse=True)
    kept = {current} | set(others[:int(keep) - 1])
    return sorted(p for v, ps in paths.items() if v not in kept for p in ps)
