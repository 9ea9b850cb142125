"""A tenant's logo: only real PNG/JPEG images of a sensible size get onto invoices."""

from __future__ import annotations

import base64
import io

import pytest
from PIL import Image

from hisaab.core.errors import HisaabError
from hisaab.tenants.rules import LOGO_MAX_PIXELS, logo
from tests.conftest import TenantHandle


def _image(kind: str, size: tuple[int, int] = (40, 20)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=kind)
    return buffer.getvalue()


def _url(media: str, raw: bytes) -> str:
    return f"data:image/{media};base64,{base64.b64encode(raw).decode()}"


@pytest.mark.parametrize("kind", ["PNG", "JPEG"])
def test_real_images_are_kept(kind: str) -> None:
    url = _url(kind.lower(), _image(kind))
    assert logo(url) == url


@pytest.mark.parametrize(
    "url",
    [
        "https://example.test/logo.png",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        _url("png", b"not an image at all"),
        _url("jpeg", _image("PNG")),  # says JPEG, is PNG
        _url("png", _image("PNG", (LOGO_MAX_PIXELS + 1, 10))),
        "data:image/png;base64,@@@",
    ],
)
def test_anything_else_is_refused(url: str) -> None:
    with pytest.raises(HisaabError) as refused:
        logo(url)
    assert refused.value.code == "invalid_logo"


def test_logo_through_the_api(tenant: TenantHandle) -> None:
    url = _url("png", _image("PNG"))
    updated = tenant.http.patch("/v1/tenant", json={"logo": url})
    assert updated.status_code == 200, updated.text
    assert updated.json()["logo"] == url
    bad = tenant.http.patch("/v1/tenant", json={"logo": _url("png", b"junk")})
    assert (bad.status_code, bad.json()["code"]) == (422, "invalid_logo")
    assert tenant.http.get("/v1/tenant").json()["logo"] == url
    assert tenant.http.patch("/v1/tenant", json={"logo": None}).json()["logo"] is None
