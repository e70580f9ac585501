#!/bin/sh
# The smallest CGI script: a header block, a blank line, a body.
# Everything the server knows about the request is in the environment.
printf 'Content-Type: text/plain; charset=utf-8\r\n'
printf '\r\n'
echo "Hello from a shell script, run by the CGI app."
echo
echo "REQUEST_METHOD  = $REQUEST_METHOD"
echo "SCRIPT_NAME     = $SCRIPT_NAME"
echo "PATH_INFO       = $PATH_INFO"
echo "QUERY_STRING    = $QUERY_STRING"
echo "SERVER_SOFTWARE = $SERVER_SOFTWARE"
echo "REMOTE_ADDR     = $REMOTE_ADDR"
echo "HTTP_USER_AGENT = $HTTP_USER_AGENT"
