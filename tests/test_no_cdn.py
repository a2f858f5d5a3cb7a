"""The running app never loads scripts, styles or fonts from another host."""

import re
from pathlib import Path

from django.conf import settings

EXTERNAL_ASSET = re.compile(r"<(script|link|img)[^>]+(src|href)=[\"'](https?:)?//", re.IGNORECASE)


def test_no_template_loads_an_asset_from_another_host():
    offenders = []
    for template in Path(settings.BASE_DIR, "templates").rglob("*.html"):
        for number, line in enumerate(template.read_text().splitlines(), start=1):
            if EXTERNAL_ASSET.search(line):
                offenders.append(
                    f"{template.relative_to(settings.BASE_DIR)}:{number}: {line.strip()}"
                )
    assert offenders == []


def test_the_api_docs_page_serves_swagger_ui_from_our_own_static_files(client):
    html = client.get("/api/docs/").content.decode()
    assert "/static/drf_spectacular_sidecar/" in html
    assert not re.search(r"(src|href)=\"https?://", html)
