#!/usr/bin/env python3
"""A Python WSGI application, served by the Rust server unchanged.

`application` is plain PEP 3333: it knows nothing of CGI or of Rust.
`wsgiref.handlers.CGIHandler` turns the CGI environment the server gives
this script back into a WSGI environ, calls the application, and writes
its status, headers and body to stdout in CGI form.

Try: GET /cgi-bin/wsgi_app.py/some/path?x=1
     POST /cgi-bin/wsgi_app.py with a body (it is echoed back)
     add ?format=text for text/plain instead of HTML
"""
import html
from urllib.parse import parse_qs
from wsgiref.handlers import CGIHandler

MAX_BODY = 64 * 1024


# ANCHOR: application
def application(environ, start_response):
    method = environ["REQUEST_METHOD"]
    path = environ.get("PATH_INFO", "") or "/"
    query = environ.get("QUERY_STRING", "")
    body = b""
    if method == "POST":
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        body = environ["wsgi.input"].read(min(length, MAX_BODY))
    text = body.decode("utf-8", "replace")

    if parse_qs(query).get("format") == ["text"]:
        lines = [
            "Hello from a Python WSGI app.",
            f"method: {method}",
            f"path: {path}",
            f"query: {query}",
        ]
        if method == "POST":
            lines.append(f"body: {text}")
        page = ("\n".join(lines) + "\n").encode("utf-8")
        content_type = "text/plain; charset=utf-8"
    else:
        rows = [("method", method), ("path", path), ("query", query)]
        if method == "POST":
            rows.append(("body", text))
        cells = "\n".join(
            f"<tr><th>{k}</th><td><code>{html.escape(v)}</code></td></tr>"
            for k, v in rows
        )
        page = f"""<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><title>WSGI app</title></head>
<body>
<h1>Hello from a Python WSGI app</h1>
<p>Served through CGI by a Rust server, with
<code>wsgiref.handlers.CGIHandler</code>.</p>
<table>
{cells}
</table>
<form method="post"><input name="say" value="hi"><button>POST</button></form>
</body>
</html>
""".encode("utf-8")
        content_type = "text/html; charset=utf-8"

    start_response(
        "200 OK",
        [("Content-Type", content_type), ("Content-Length", str(len(page)))],
    )
    return [page]
# ANCHOR_END: application


# ANCHOR: cgi-handler
if __name__ == "__main__":
    CGIHandler().run(application)
# ANCHOR_END: cgi-handler
