use super::*;

#[test]
fn status_lines() {
    assert_eq!(parse_status("200 OK"), Some((200, "OK")));
    assert_eq!(parse_status("404 Not Found"), Some((404, "Not Found")));
    assert_eq!(parse_status("204"), Some((204, "")));
    for bad in [
        "",
        "20 OK",
        "2000 OK",
        "abc OK",
        "099 x",
        "600 x",
        "200 a\r\n",
    ] {
        assert_eq!(parse_status(bad), None, "{bad:?}");
    }
}

#[test]
fn closures_are_apps() {
    let app = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![]);
        Body::from("hi")
    };
    let mut environ = Environ::for_test("GET", "/");
    let mut sr = StartResponse::new();
    let body = app.handle(&mut environ, &mut sr);
    assert_eq!(sr.parsed_status(), Some((200, "OK")));
    assert_eq!(body.into_bytes().unwrap(), b"hi");
}
