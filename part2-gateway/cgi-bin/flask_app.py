#!/usr/bin/env python3
"""A Flask application, served by the Rust server unchanged.

Nothing here knows about CGI or Rust but the last two lines: Python's
`wsgiref.handlers.CGIHandler` runs any WSGI application, Flask's among
them, from the CGI environment our CGI app gives the script.
Needs Flask: python3 -m pip install flask==3.1.3

Try: GET  /cgi-bin/flask_app.py/hello?name=Ada
     POST /cgi-bin/flask_app.py/form with name=Ada (form or chunked)
     POST /cgi-bin/flask_app.py/upload with a file field `file`
     GET  /cgi-bin/flask_app.py/stream, /go, /cookie/set, /cookie/get
"""
import hashlib
from wsgiref.handlers import CGIHandler

from flask import Flask, Response, redirect, request, url_for

# ANCHOR: app
app = Flask(__name__)


@app.get("/hello")
def hello():
    name = request.args.get("name", "World")
    return f"Hello, {name}, from Flask!\n", {"Content-Type": "text/plain"}


@app.post("/form")
def form():
    return {"name": request.form.get("name"), "length": request.content_length}
# ANCHOR_END: app


@app.post("/upload")
def upload():
    file = request.files["file"]
    data = file.read()
    return {
        "filename": file.filename,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
        "note": request.form.get("note"),
    }


@app.get("/stream")
def stream():
    def lines():
        for i in range(1, 4):
            yield f"line {i}\n"

    return Response(lines(), mimetype="text/plain")


@app.get("/go")
def go():
    return redirect(url_for("hello", name="again"))


@app.get("/cookie/set")
def set_cookie():
    response = Response("cookie set\n", mimetype="text/plain")
    response.set_cookie("flavour", "oatmeal", httponly=True)
    return response


@app.get("/cookie/get")
def get_cookie():
    return f"flavour={request.cookies.get('flavour')}\n", {
        "Content-Type": "text/plain"
    }


# ANCHOR: cgi-handler
if __name__ == "__main__":
    CGIHandler().run(app)
# ANCHOR_END: cgi-handler
