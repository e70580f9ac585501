//! `demo`, the default app: a URL map of every other app, with an index
//! page that links to them. It is also the gateway's best argument:
//! a Python WSGI app, shell scripts, static files and Rust apps, all
//! behind one interface.

use super::{
    AppOptions, Cgi, Echo, Gzip, Hello, ShowEnviron, Sleep, StaticFiles, UrlMap,
};
use crate::environ::Environ;
use crate::gateway::{Body, StartResponse};

/// The index page at `/`.
const INDEX: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>From Socket to Server: demo</title>
<link rel="stylesheet" href="/static/style.css">
</head>
<body>
<h1>From Socket to Server</h1>
<p>Every link below is a different app behind the same gateway interface.</p>
<ul>
<li><a href="/hello">/hello</a>: the smallest app</li>
<li><a href="/environ?lang=rust">/environ</a>: what the server tells an app</li>
<li><a href="/sleep?ms=500">/sleep?ms=500</a>: a slow app</li>
<li><a href="/static/">/static/</a>: files from <code>--root</code></li>
<li><a href="/cgi-bin/hello.sh">/cgi-bin/hello.sh</a>: a shell CGI script</li>
<li><a href="/cgi-bin/wsgi_app.py/any/path?x=1">/cgi-bin/wsgi_app.py</a>:
a Python WSGI app, run by <code>wsgiref</code>'s CGIHandler</li>
<li><a href="/cgi-bin/env.py">/cgi-bin/env.py</a>: a CGI script's environment</li>
</ul>
<form method="post" action="/echo">
<p><label>Echo: <input name="text" value="Apples to Oranges!"></label>
<button>POST /echo</button></p>
</form>
</body>
</html>
"#;

fn index(
    environ: &mut Environ<'_>,
    start_response: &mut StartResponse,
) -> Body {
    start_response.start(
        "200 OK",
        vec![
            ("Content-Type".into(), "text/html; charset=utf-8".into()),
            ("Content-Length".into(), INDEX.len().to_string()),
        ],
    );
    Body::from(INDEX).unless_head(environ)
}

// ANCHOR: demo
/// Builds the demo: every app mounted under its own path, the whole map
/// wrapped in gzip (middleware around middleware around apps).
pub fn demo(options: &AppOptions) -> Result<Gzip<UrlMap>, String> {
    let files = StaticFiles::new(&options.root).map_err(|e| {
        format!("cannot open --root {}: {e}", options.root.display())
    })?;
    let scripts = Cgi::new(&options.cgi_dir).map_err(|e| {
        format!("cannot open --cgi-dir {}: {e}", options.cgi_dir.display())
    })?;
    let routes = UrlMap::new()
        .exact("/", index)
        .mount("/hello", Hello)
        .mount("/echo", Echo::default())
        .mount("/environ", ShowEnviron)
        .mount("/sleep", Sleep::default())
        .mount("/static", files)
        .mount("/cgi-bin", scripts);
    Ok(Gzip::new(routes))
}
// ANCHOR_END: demo
