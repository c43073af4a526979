"""core.pdf: every PDF is drawn from its HTML alone (no file or network read)."""

import base64

import pytest

from aftercare.core.pdf import html_to_pdf, pdf_url_fetcher

PIXEL = base64.b64encode(
    bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                  "1f15c4890000000d49444154789c6360000002000100e221bc330000000049454e44ae426082")
).decode()


@pytest.mark.parametrize("url", ["file:///etc/passwd", "http://127.0.0.1:1/x.png", "https://example.com/a.css",
                                 "ftp://x/y"])
def test_it_refuses_to_fetch_anything_but_data(url):
    with pytest.raises(ValueError, match="disallowed protocol"):
        pdf_url_fetcher().fetch(url)


def test_it_reads_an_inline_data_url():
    fetched = pdf_url_fetcher().fetch(f"data:image/png;base64,{PIXEL}")
    assert fetched.content_type == "image/png"


def test_it_draws_the_pdf_with_the_inline_image_only(tmp_path):
    on_disk = tmp_path / "x.png"
    on_disk.write_bytes(base64.b64decode(PIXEL))
    page = f'<p>回访</p><img src="data:image/png;base64,{PIXEL}">'
    with_file = html_to_pdf(page + f'<link rel="stylesheet" href="file:///etc/passwd"><img src="{on_disk.as_uri()}">')
    assert with_file.startswith(b"%PDF")
    assert with_file.count(b"/Image") == html_to_pdf(page).count(b"/Image") >= 1  # the file's image was not drawn
