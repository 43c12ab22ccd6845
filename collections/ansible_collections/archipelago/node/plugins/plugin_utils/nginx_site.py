# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""The nginx_headers role on a site it did not write: the backend's own Archipelago site keeps
every server and location it has; the role adds one include line at the top of each server block
(the headers and the app routes) and one in the RPC location (the request limit).

Pure functions over the site's text; the filter plugin and the unit tests call them."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

MARK = "# archipelago.node.nginx_headers"


class SiteError(ValueError):
    """A site the role cannot read safely; the message says where."""


def _blocks(text):
    """[(kind, args, open_index, close_index, depth)] of the blocks of an nginx file: kind is the
    directive's name (server, location, ...), args its arguments, the indices those of its braces.
    Comments and quoted strings are skipped. Raises SiteError for unbalanced braces."""
    out, stack = [], []
    i, n, start = 0, len(text), 0
    while i < n:
        c = text[i]
        if c == "#":
            j = text.find("\n", i)
            i = n if j < 0 else j
            start = i
            continue
        if c in "\"'":
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise SiteError("a quoted string that does not end (from character %d)" % i)
            i = j + 1
            continue
        if c == "{":
            words = text[start:i].split()
            stack.append((words[0] if words else "", " ".join(words[1:]), i))
            start = i + 1
        elif c == "}":
            if not stack:
                raise SiteError("a '}' without its '{' (character %d)" % i)
            kind, args, opened = stack.pop()
            out.append((kind, args, opened, i, len(stack)))
            start = i + 1
        elif c == ";":
            start = i + 1
        i += 1
    if stack:
        raise SiteError("a '{' of %s %s is never closed" % (stack[-1][0], stack[-1][1]))
    return sorted(out, key=lambda b: b[2])


def _has_include(text, opened, closed, include):
    """Whether the block's own level holds the include (not a nested block's)."""
    inner = text[opened + 1:closed]
    depth, level = 0, []
    for part in re.split(r"([{}])", inner):
        if part == "{":
            depth += 1
        elif part == "}":
            depth -= 1
        elif depth == 0:
            level.append(part)
    return re.search(r"(?m)^\s*include\s+%s\s*;" % re.escape(include), "".join(level)) is not None


def locations(text):
    """The location arguments of every server block (e.g. '/rpc/v1', '= /health')."""
    return [args for kind, args, _o, _c, depth in _blocks(text) if kind == "location"]


def harden(text, server_includes, rpc_include, rpc_path="/rpc/v1"):
    """The site with each server block starting with the server_includes and each location of
    rpc_path starting with rpc_include, where they are missing. Everything else stays as it was.
    Returns {"content", "servers", "rpc_locations", "locations"}. Raises SiteError."""
    blocks = _blocks(text)
    servers = [b for b in blocks if b[0] == "server" and b[4] == 0]
    if not servers:
        raise SiteError("the site has no server block")
    rpc = [b for b in blocks if b[0] == "location" and re.sub(r"^(=|\^~)\s*", "", b[1]) == rpc_path]
    inserts = []

    def lines(at, includes, indent):
        # Each include on its own line after the brace; what followed the brace on its line (a
        # one-line block) moves to the next line, so the marker comment ends no directive.
        added = "".join("\n%sinclude %s;  %s" % (indent, inc, MARK) for inc in includes)
        rest = text[at:].split("\n", 1)[0]
        return (at, added + ("\n" + indent if rest.strip() else ""))

    for kind, args, opened, closed, depth in servers:
        missing = [inc for inc in server_includes if not _has_include(text, opened, closed, inc)]
        if missing:
            inserts.append(lines(opened + 1, missing, "    "))
    for kind, args, opened, closed, depth in rpc:
        if not _has_include(text, opened, closed, rpc_include):
            inserts.append(lines(opened + 1, [rpc_include], "        "))
    out = text
    for at, line in sorted(inserts, reverse=True):
        out = out[:at] + line + out[at:]
    return {"content": out, "servers": len(servers), "rpc_locations": len(rpc),
            "locations": [b[1] for b in blocks if b[0] == "location"]}
