//! Running CGI/1.1 scripts (RFC 3875) as an app.
