use super::*;

fn run(app: impl App, method: &str) -> Vec<String> {
    let validator = Validator::new(app);
    let report = validator.report();
    let mut environ = Environ::for_test(method, "/");
    let mut sr = StartResponse::new();
    let body = validator.handle(&mut environ, &mut sr);
    let _ = body.into_bytes();
    report.problems()
}

#[test]
fn a_good_app_passes() {
    let good = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![("Content-Length".into(), "2".into())]);
        Body::from("ok")
    };
    assert_eq!(run(good, "GET"), Vec::<String>::new());
}

#[test]
fn broken_contracts_are_reported() {
    let silent = |_: &mut Environ<'_>, _: &mut StartResponse| Body::Empty;
    assert!(run(silent, "GET")[0].contains("never called"));

    let twice = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![]);
        sr.start("500 Oops", vec![]);
        Body::Empty
    };
    assert!(run(twice, "GET")[0].contains("2 times"));

    let hop = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![("Connection".into(), "close".into())]);
        Body::Empty
    };
    assert!(run(hop, "GET")[0].contains("Connection"));

    let short = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![("Content-Length".into(), "5".into())]);
        Body::stream(vec![Ok(b"ab".to_vec())].into_iter())
    };
    assert!(run(short, "GET")[0].contains("2 bytes"));

    let long = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![("Content-Length".into(), "1".into())]);
        Body::from("ab")
    };
    assert!(run(long, "GET")[0].contains("2 bytes"));

    let head_body = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("200 OK", vec![]);
        Body::from("x")
    };
    assert!(run(head_body, "HEAD")[0].contains("bodyless"));
    let no_content = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("204 No Content", vec![]);
        Body::from("x")
    };
    assert!(run(no_content, "GET")[0].contains("bodyless"));

    let bad_status = |_: &mut Environ<'_>, sr: &mut StartResponse| {
        sr.start("OK", vec![]);
        Body::Empty
    };
    assert!(run(bad_status, "GET")[0].contains("malformed status"));
}
