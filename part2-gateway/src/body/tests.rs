use super::*;

/// A decoder with the default limits but `max_body`.
fn decoder(framing: Framing, max_body: u64) -> Result<BodyDecoder, HttpError> {
    let limits = Limits {
        max_body,
        ..Limits::default()
    };
    BodyDecoder::with_limits(framing, &limits)
}

#[test]
fn no_body() {
    let mut d = decoder(Framing::None, 10).unwrap();
    assert!(d.is_done());
    let mut out = Vec::new();
    assert_eq!(d.decode(b"GET / HTTP/1.1", &mut out), Ok(0));
    assert!(out.is_empty());
}

#[test]
fn length_passes_exactly_n() {
    let mut d = decoder(Framing::Length(5), 10).unwrap();
    let mut out = Vec::new();
    assert!(!d.is_done());
    assert_eq!(d.decode(b"ab", &mut out), Ok(2));
    assert!(!d.is_done());
    assert_eq!(d.decode(b"cdeNEXT", &mut out), Ok(3));
    assert!(d.is_done());
    assert_eq!(out, b"abcde");
    assert_eq!(d.decode(b"more", &mut out), Ok(0));
    let zero = decoder(Framing::Length(0), 10).unwrap();
    assert!(zero.is_done());
}

#[test]
fn length_over_max_is_413_at_once() {
    let err = decoder(Framing::Length(11), 10).unwrap_err();
    assert_eq!(err.status, 413);
    assert!(decoder(Framing::Length(10), 10).is_ok());
}

#[test]
fn chunked() {
    let mut d = decoder(Framing::Chunked, 10).unwrap();
    let mut out = Vec::new();
    assert_eq!(d.decode(b"3\r\nabc\r\n0\r\n\r\nX", &mut out), Ok(13));
    assert!(d.is_done());
    assert_eq!(out, b"abc");
    let mut d = decoder(Framing::Chunked, 2).unwrap();
    let err = d.decode(b"3\r\nabc\r\n", &mut out).unwrap_err();
    assert_eq!(err.status, 413);
}

#[test]
fn trailer_limit_from_limits() {
    let limits = Limits {
        max_head: 8,
        ..Limits::default()
    };
    let mut d = BodyDecoder::with_limits(Framing::Chunked, &limits).unwrap();
    let err = d
        .decode(b"0\r\nX-Long: 123456\r\n\r\n", &mut Vec::new())
        .unwrap_err();
    assert_eq!(err.status, 431);
}

#[test]
fn body_timeout_earns_time_by_rate_up_to_the_stall() {
    let ms = Duration::from_millis;
    let timeout = BodyTimeout {
        stall: ms(1000),
        min_rate: 1000,
    };
    // 1000 bytes a second: each byte buys a millisecond.
    assert_eq!(timeout.after(ms(400), 100), ms(500));
    // Never more than the stall in hand, however fast the client was.
    assert_eq!(timeout.after(ms(900), 1_000_000), ms(1000));
    // Nothing arrived: nothing earned.
    assert_eq!(timeout.after(ms(30), 0), ms(30));
    // No rate: any progress gives back the whole stall (nginx's rule).
    let gap = BodyTimeout {
        min_rate: 0,
        ..timeout
    };
    assert_eq!(gap.after(ms(1), 1), ms(1000));
    assert_eq!(gap.after(ms(1), 0), ms(1));
    // No overflow at the extremes.
    let slow = BodyTimeout {
        stall: Duration::MAX,
        min_rate: 1,
    };
    assert_eq!(slow.after(Duration::MAX, usize::MAX), Duration::MAX);
}
