use super::*;

#[test]
fn tokens() {
    assert!(is_token(b"Content-Type") && is_token(b"GET") && is_token(b"x!"));
    assert!(!is_token(b"") && !is_token(b"a b") && !is_token(b"a:b"));
    assert!(!is_tchar(b'"') && !is_tchar(b'(') && !is_tchar(0x7f));
}

#[test]
fn dates_format_and_parse() {
    let t = DateTime::from_timestamp(784_111_777, 0).unwrap();
    assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    assert_eq!(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), Some(t));
    assert_eq!(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), Some(t));
    assert_eq!(parse_http_date("Sun Nov  6 08:49:37 1994"), Some(t));
    assert_eq!(parse_http_date("06 Nov 1994"), None);
}

#[test]
fn the_date_now() {
    let mut out = Vec::new();
    push_date_now(&mut out);
    let now = String::from_utf8(out).unwrap();
    assert_eq!(now.len(), 29, "{now}");
    assert!(parse_http_date(&now).is_some(), "{now}");
}

#[test]
fn numbers() {
    for n in [0, 7, 10, 404, u64::MAX] {
        let mut out = Vec::new();
        push_u64(&mut out, n);
        assert_eq!(out, n.to_string().as_bytes());
    }
}

#[test]
fn text_errors() {
    let mut sr = StartResponse::new();
    let location = ("Location".to_string(), "/a/".to_string());
    let body = text_error(&mut sr, 301, vec![location]);
    assert_eq!(sr.status(), Some("301 Moved Permanently"));
    assert_eq!(sr.header("Content-Type"), Some("text/plain; charset=utf-8"));
    assert_eq!(sr.header("Location"), Some("/a/"));
    assert_eq!(body.into_bytes().unwrap(), b"301 Moved Permanently\n");
}
