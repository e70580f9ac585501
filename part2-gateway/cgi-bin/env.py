#!/usr/bin/env python3
"""Prints the environment the CGI app gives a script, sorted by name.

Only the CGI meta-variables (RFC 3875 section 4.1), the request's
HTTP_* headers and PATH are there: the server's own environment is not.
"""
import os
import sys

sys.stdout.write("Content-Type: text/plain; charset=utf-8\r\n\r\n")
for name, value in sorted(os.environ.items()):
    sys.stdout.write(f"{name}={value}\n")
