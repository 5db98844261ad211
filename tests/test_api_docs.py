"""The reference pages work on a closed network: every script, style and image they load comes from this
server, the security policy allows no other origin, and a setting switches them off."""

import re

from tests.builders import World


def test_swagger_ui_and_redoc_load_only_from_this_server(world: World) -> None:
    for page in ("/docs", "/redoc"):
        response = world.client.get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        urls = re.findall(r"""(?:src|href)=["']([^"']+)""", response.text)
        urls += re.findall(r"""(?:url|spec-url)[:=] *["']([^"']+)""", response.text)
        assert urls, page
        assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
        for url in urls:
            assert world.client.get(url).status_code == 200, url
        csp = response.headers["content-security-policy"]
        assert "http" not in csp and "script-src 'self'" in csp
    script = world.client.get("/docs/assets/swagger-ui-bundle.js")
    assert script.headers["content-type"].startswith("text/javascript") and len(script.content) > 100_000
    assert world.client.get("/docs/oauth2-redirect").status_code == 200


def test_only_the_listed_assets_are_served(world: World) -> None:
    for name in ("__init__.py", "..%2Fcore.py", "missing.js"):
        response = world.client.get(f"/docs/assets/{name}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_a_setting_switches_the_pages_off_but_not_the_contract(world: World) -> None:
    world.settings.docs = False
    for path in ("/docs", "/redoc", "/docs/assets/swagger-ui-bundle.js", "/docs/oauth2-redirect"):
        assert world.client.get(path).status_code == 404, path
    assert world.client.get("/openapi.json").status_code == 200
