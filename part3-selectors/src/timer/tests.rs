use super::*;

#[test]
fn earliest_first_and_only_when_due() {
    let t0 = Instant::now();
    let id = |slot| ConnId { slot, serial: 0 };
    let mut timers = Timers::new();
    assert_eq!(timers.next_timeout(t0), None);
    timers.push(t0 + Duration::from_secs(3), id(3));
    timers.push(t0 + Duration::from_secs(1), id(1));
    timers.push(t0 + Duration::from_secs(2), id(2));
    assert_eq!(timers.next_timeout(t0), Some(Duration::from_secs(1)));
    assert_eq!(timers.pop_due(t0), None);
    let later = t0 + Duration::from_secs(2);
    assert_eq!(timers.pop_due(later).map(|e| e.1), Some(id(1)));
    assert_eq!(timers.pop_due(later).map(|e| e.1), Some(id(2)));
    assert_eq!(timers.pop_due(later), None);
    assert_eq!(timers.len(), 1);
}
