# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r"""
options:
  url:
    description:
      - The backend's JSON-RPC endpoint. Modules run on the node and talk to its local API.
    type: str
    default: http://127.0.0.1:5678/rpc/v1
  password:
    description:
      - The node's admin password. Prefer O(password_file); never pass it on a command line.
    type: str
  password_file:
    description:
      - A file on the node whose first line is the admin password.
    type: path
  totp_code:
    description:
      - A current TOTP code, when the node has TOTP enabled.
    type: str
  timeout:
    description:
      - Seconds to wait for one HTTP answer, from 1 to 300.
      - The whole run, every call and every attempt, ends within O(timeout) x (O(retries) + 3) + 120
        seconds; a server that answers slower than that, even one byte at a time, fails the run.
    type: int
    default: 10
  retries:
    description:
      - Further attempts (0 to 10) after a connection error, with exponential back-off from 1 s.
      - HTTP 429 answers are retried twice after 15 s and 30 s.
    type: int
    default: 3
  validate_certs:
    description: Check the TLS certificate when O(url) is https.
    type: bool
    default: true
  session_cache:
    description:
      - Keep the backend's session cookies in O(session_dir) (mode 0600) so that later module runs
        reuse one login; the backend allows only 5 logins a minute per address.
      - An expired session leads to one fresh login.
    type: bool
    default: true
  session_dir:
    description: Where cached sessions are kept on the node (a tmpfs such as /run is best).
    type: path
    default: /run/archipelago-ansible
notes:
  - Secrets (password, TOTP code, invite codes, passphrases) are never returned and are replaced
    by a mark in diffs.
"""
