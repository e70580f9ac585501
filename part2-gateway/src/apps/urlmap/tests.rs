use super::*;

fn path_app(e: &mut Environ<'_>, sr: &mut StartResponse) -> Body {
    sr.start("200 OK", vec![]);
    let script = e.get("SCRIPT_NAME").unwrap_or("");
    Body::from(format!("{script}|{}", e.path_info()))
}

fn get(map: &UrlMap, path: &str) -> (u16, String) {
    let mut environ = Environ::for_test("GET", path);
    let mut sr = StartResponse::new();
    let body = map.handle(&mut environ, &mut sr).into_bytes().unwrap();
    let status = sr.parsed_status().unwrap().0;
    (status, String::from_utf8(body).unwrap())
}

#[test]
fn longest_prefix_wins_and_moves_to_script_name() {
    let map = UrlMap::new()
        .exact("/", path_app)
        .mount("/a", path_app)
        .mount("/a/b", path_app);
    assert_eq!(get(&map, "/"), (200, "|/".into()));
    assert_eq!(get(&map, "/a"), (200, "/a|".into()));
    assert_eq!(get(&map, "/a/x"), (200, "/a|/x".into()));
    assert_eq!(get(&map, "/a/b/c"), (200, "/a/b|/c".into()));
    assert_eq!(get(&map, "/ab").0, 404);
    assert_eq!(get(&map, "/nope").0, 404);
}
