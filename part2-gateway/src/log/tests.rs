use super::*;
use crate::request::{Framing, Version};

fn head(target: &str) -> RequestHead {
    RequestHead {
        method: "GET".into(),
        target: target.into(),
        version: Version::Http11,
        headers: Vec::new(),
        framing: Framing::None,
        keep_alive: true,
        expect_continue: false,
    }
}

#[test]
fn lines_in_common_log_format() {
    let ip: IpAddr = "10.0.0.255".parse().unwrap();
    let line = access_line(ip, None, 404, 1234567890);
    assert!(line.starts_with("10.0.0.255 - - ["), "{line}");
    assert!(line.ends_with("] \"-\" 404 1234567890"), "{line}");
    let v6: IpAddr = "::1".parse().unwrap();
    assert!(access_line(v6, None, 200, 0).starts_with("::1 - - ["));
    let line = access_line(ip, Some(&head("/a?b")), 200, 0);
    assert!(line.ends_with("] \"GET /a?b HTTP/1.1\" 200 0"), "{line}");
}

#[test]
fn odd_targets_stay_on_one_line() {
    let ip: IpAddr = "127.0.0.1".parse().unwrap();
    let line = access_line(ip, Some(&head("/\"x\n")), 400, 0);
    assert!(line.contains("\"GET /\\\"x\\n HTTP/1.1\""), "{line}");
    assert!(!line.contains('\n'));
}
