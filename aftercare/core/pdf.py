"""HTML to PDF for every printable page (WeasyPrint, Noto Sans CJK SC from the system's fonts): the complaint form,
the reports by mail, the year report. One place, so that no PDF fetches anything while it is drawn: the templates
inline their styles and charts (SVG), and a URL that slipped into one (a user's text is escaped, but a future
template might link an image) is refused instead of being read from the disk or the network."""


def pdf_url_fetcher():
    """WeasyPrint's own fetcher allowing `data:` URLs only (inline images); any other URL raises, which WeasyPrint
    logs and skips: the PDF is drawn without it."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False)


def html_to_pdf(html: str) -> bytes:
    """The PDF of a rendered template (its HTML as a string)."""
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=pdf_url_fetcher()).write_pdf()
