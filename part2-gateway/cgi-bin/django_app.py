#!/usr/bin/env python3
"""A one-file Django project with one view, served through CGI.

Django's WSGI application is an ordinary WSGI callable, so the same
`wsgiref.handlers.CGIHandler` that runs the Flask app runs it.
Needs Django: python3 -m pip install django==5.2.19

Try: GET /cgi-bin/django_app.py/hello
"""
from wsgiref.handlers import CGIHandler

from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="not-a-secret: this project keeps no sessions",
    ROOT_URLCONF=__name__,
    ALLOWED_HOSTS=["*"],
    MIDDLEWARE=[],
)

from django.core.wsgi import get_wsgi_application  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.urls import path  # noqa: E402


def hello(request):
    return HttpResponse(
        f"Hello from Django, {request.method} {request.path}\n",
        content_type="text/plain",
    )


urlpatterns = [path("hello", hello)]

application = get_wsgi_application()

if __name__ == "__main__":
    CGIHandler().run(application)
