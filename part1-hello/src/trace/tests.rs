use super::*;

#[test]
fn off_means_off() {
    assert!(!Trace::OFF.is_on());
    assert!(!Trace::new(false, 7).is_on());
    assert!(Trace::new(true, 7).is_on());
}

#[test]
fn byte_counts_read_as_words() {
    assert_eq!(Bytes(0).to_string(), "0 bytes");
    assert_eq!(Bytes(1).to_string(), "1 byte");
    assert_eq!(Bytes(78).to_string(), "78 bytes");
}
