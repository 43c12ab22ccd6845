"""nginx_headers on a site it did not write (plugin_utils/nginx_site.py)."""
import re

import pytest

from ansible_collections.archipelago.node.plugins.plugin_utils import nginx_site

H, A, R = "/etc/nginx/snippets/h.conf", "/etc/nginx/snippets/apps.conf", "/etc/nginx/snippets/rpc.conf"
SITE = """# the backend's own site
server {
    listen 80 default_server;
    root /opt/archipelago/web-ui;   # a comment with { a brace
    location /rpc/v1 {
        proxy_pass http://127.0.0.1:5678/rpc/v1;
    }
    location /ws {
        proxy_pass http://127.0.0.1:5678/ws;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection "upgrade";
    }
    location /dwn { proxy_pass http://127.0.0.1:5678/dwn; }
    location ~ "^/static/[a-z{]+" { expires 1d; }
    location / { try_files $uri /index.html; }
}
server {
    listen 443 ssl;
    location = /rpc/v1 { proxy_pass http://127.0.0.1:5678/rpc/v1; }
}
"""


def harden(text):
    return nginx_site.harden(text, [H, A], R)


def test_every_line_stays_and_each_server_and_rpc_location_gets_its_includes():
    out = harden(SITE)
    assert out["servers"] == 2 and out["rpc_locations"] == 2
    content = out["content"]
    # nothing removed: the original is the result without the added lines (a one-line block's
    # directives move to their own line)
    kept = "".join(l for l in content.splitlines() if nginx_site.MARK not in l)
    assert re.sub(r"\s+", "", kept) == re.sub(r"\s+", "", SITE)
    assert "    location = /rpc/v1 {\n        include %s;  %s\n         proxy_pass" % (R, nginx_site.MARK) in content
    assert content.count("include %s;" % H) == 2 and content.count("include %s;" % A) == 2
    assert content.count("include %s;" % R) == 2
    assert out["locations"] == ["/rpc/v1", "/ws", "/dwn", '~ "^/static/[a-z{]+"', "/", "= /rpc/v1"]


def test_a_second_pass_changes_nothing():
    once = harden(SITE)["content"]
    assert harden(once)["content"] == once


def test_an_include_the_site_already_has_is_not_added_again():
    site = "server {\n    include %s;\n    location /rpc/v1 { include %s; }\n}\n" % (H, R)
    out = harden(site)["content"]
    assert out.count(H) == 1 and out.count(R) == 1 and out.count(A) == 1


def test_an_include_in_a_nested_block_does_not_count_for_the_server():
    site = "server {\n    location /x { include %s; }\n}\n" % H
    assert harden(site)["content"].count(H) == 2


@pytest.mark.parametrize("site, message", [
    ("server {\n listen 80;\n", "never closed"),
    ("server { }\n}\n", "without its"),
    ("server { return 200 \"x; }\n", "does not end"),
    ("# nothing here\n", "no server block"),
])
def test_sites_it_cannot_read_are_refused(site, message):
    with pytest.raises(nginx_site.SiteError, match=message):
        harden(site)
