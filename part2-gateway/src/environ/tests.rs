use super::*;

#[test]
fn targets_split() {
    assert_eq!(split_target("/a/b?x=1&y"), ("/a/b", "x=1&y"));
    assert_eq!(split_target("/"), ("/", ""));
    assert_eq!(split_target("http://example.com/p?q"), ("/p", "q"));
    assert_eq!(split_target("HTTP://example.com"), ("/", ""));
    assert_eq!(split_target("*"), ("", ""));
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("/a%20b"), "/a b");
    assert_eq!(percent_decode("%2e%2E/x"), "../x");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz%4"), "%zz%4");
    assert_eq!(percent_decode("%41"), "A");
}

#[test]
fn meta_variables() {
    let mut env = Environ::for_test("POST", "/echo/x%20y?a=1&b=two%21");
    assert_eq!(env.method(), "POST");
    assert_eq!(env.path_info(), "/echo/x y");
    assert_eq!(env.query_string(), "a=1&b=two%21");
    assert_eq!(env.query_param("b").as_deref(), Some("two!"));
    assert_eq!(env.query_param("c"), None);
    assert_eq!(env.get("HTTP_HOST"), Some("localhost"));
    assert_eq!(env.get("SERVER_NAME"), Some("localhost"));
    assert_eq!(env.get("SERVER_PORT"), Some("8888"));
    assert_eq!(env.get("GATEWAY_INTERFACE"), Some("CGI/1.1"));
    assert_eq!(env.read_body(10).unwrap(), b"");
}

#[test]
fn repeated_fields_join() {
    let head = RequestHead {
        method: "GET".into(),
        target: "/".into(),
        headers: vec![
            ("Host".into(), "x".into()),
            ("Accept".into(), "a/b".into()),
            ("accept".into(), "c/d".into()),
            ("Cookie".into(), "a=1".into()),
            ("Cookie".into(), "b=2".into()),
            ("Content-Type".into(), "text/plain".into()),
            ("X_Sneaky".into(), "1".into()),
        ],
        ..RequestHead::default()
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], 8888));
    let vars = cgi_vars(&head, &ServerInfo::new(addr, addr));
    assert_eq!(vars["HTTP_ACCEPT"], "a/b, c/d");
    assert_eq!(vars["HTTP_COOKIE"], "a=1; b=2");
    assert_eq!(vars["CONTENT_TYPE"], "text/plain");
    assert!(!vars.contains_key("HTTP_CONTENT_TYPE"));
    assert!(!vars.contains_key("HTTP_X_SNEAKY"));
}
