"""The healthy suite, the nginx_headers role (SEC-02, SEC-06) on a stabilized node."""
import re

from healthy_nodes import NODE_IP
from labhosts import controller


def test_security_headers_everywhere_and_the_app_iframe_exception(node):
    """SEC-06: the headers on a page, on an nginx error page, and relaxed under /app/<id>/."""
    _, host = node
    for cmd in ("curl -sI http://127.0.0.1/", "curl -s -o /dev/null -D - -X POST http://127.0.0.1/index.html"):
        head = host.check_output(cmd)
        assert re.search(r"^X-Frame-Options: DENY", head, re.M | re.I), head
        for h in ("X-Content-Type-Options: nosniff", "Content-Security-Policy: ", "Referrer-Policy: ",
                  "Permissions-Policy: "):
            assert h.lower() in head.lower(), (cmd, h)
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1/index.html") == "405"
    head = host.check_output("curl -s -o /dev/null -D - http://127.0.0.1/app/archy-mempool-web/")
    assert re.search(r"^X-Frame-Options: SAMEORIGIN", head, re.M | re.I)
    assert "frame-ancestors 'self'" in head
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/app/archy-mempool-web/") == "200"


def test_app_pages_get_the_nostr_provider_and_other_answers_are_untouched(node):
    """NIP-07 (US-09): an app's HTML page under /app/<id>/ carries the UI's window.nostr provider
    script once, before </head>; its JSON answers pass unchanged."""
    _, host = node
    page = host.check_output("curl -s --compressed -H 'Accept: text/html' "
                             "http://127.0.0.1/app/archy-mempool-web/")
    assert page.count('<script src="/nostr-provider.js"></script></head>') == 1, page[:400]
    answer = host.check_output("curl -s http://127.0.0.1/app/archy-mempool-web/")
    assert "nostr-provider" not in answer and answer.startswith("{"), answer[:200]


def test_rpc_requests_without_a_session_are_rate_limited(node):
    """SEC-02: the controller (an address no other test uses) sends anonymous join attempts:
    after the burst nginx answers 429."""
    name, _ = node
    body = '{"method":"federation.join","params":{"code":"archy1.x.y"}}'
    codes = []
    for _ in range(14):
        res = controller(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json",
                          "--data-binary", body, f"http://{NODE_IP[name]}/rpc/v1"])
        codes.append(res.stdout)
    assert "429" in codes and codes[0] != "429", codes


def test_the_sites_own_locations_are_kept(node):
    """The backend's site (the lab seed's) has locations the role does not know (/ws, /dwn): they
    are still there and still proxied to the backend after stabilize.yml, with the headers; the
    role only added its include lines (plugin_utils/nginx_site.py)."""
    _, host = node
    site = host.file("/etc/nginx/sites-available/archipelago").content_string
    for location in ("location /ws {", "location /dwn {", "location /rpc/v1 {", "location = /health {"):
        assert location in site, location
    assert site.count("include /etc/nginx/snippets/archipelago-headers.conf;") == 1
    # /dwn reaches the backend (its JSON 404), not the web UI's index.html, and carries the headers
    head = host.check_output("curl -s -o /dev/null -D - http://127.0.0.1/dwn")
    assert re.search(r"^HTTP/1.1 404", head) and "application/json" in head, head
    assert re.search(r"^X-Frame-Options: DENY", head, re.M | re.I), head
