use super::*;
use crate::sim::{Clock, Detail, RoundClose};

fn at(s: u64, kind: EventKind, client: Option<u32>, round: u64) -> Event {
    Event::new(VirtualTime::from_nanos(s * 1_000_000_000), kind, client, round)
}

/// Client 0 through a whole task, client 1 dropped, client 2 late.
fn script() -> Vec<Event> {
    vec![
        at(0, EventKind::Dispatch, Some(0), 0).bytes(100),
        at(0, EventKind::Dispatch, Some(1), 0).bytes(100),
        at(0, EventKind::Dispatch, Some(2), 0).bytes(100),
        at(1, EventKind::DownloadDone, Some(0), 0).bytes(100),
        at(2, EventKind::ComputeDone, Some(0), 0),
        at(2, EventKind::Drop, Some(1), 0),
        at(3, EventKind::Report, Some(0), 0).bytes(40),
        at(4, EventKind::Late, Some(2), 0),
        at(4, EventKind::Aggregate, None, 1).detail(Detail::Aggregation { updates: 1, close: RoundClose::Deadline }),
        at(4, EventKind::Evaluate, None, 1).detail(Detail::Scores { accuracy: 0.75, loss: 0.5, macro_f1: 0.7 }),
    ]
}

#[test]
fn events_move_clients_through_their_phases_and_bytes_in_flight() {
    let mut s = LiveState::new("t", 4);
    let ev = script();
    let mut seen = Vec::new();
    for e in &ev {
        s.apply(e);
        seen.push(([s.phase(0), s.phase(1), s.phase(2), s.phase(3)], s.bytes_in_flight(), s.transfers()));
    }
    use Phase::*;
    assert_eq!(seen[2], ([Download, Download, Download, Idle], 300, (3, 0)));
    assert_eq!(seen[3], ([Compute, Download, Download, Idle], 200, (2, 0)));
    // The upload's size is not known before the first report.
    assert_eq!(seen[4], ([Upload, Download, Download, Idle], 200, (2, 1)));
    assert_eq!(seen[5], ([Upload, Dropped, Download, Idle], 100, (1, 1)));
    assert_eq!(seen[6], ([Idle, Dropped, Download, Idle], 100, (1, 0)));
    assert_eq!(seen[7], ([Idle, Dropped, Idle, Idle], 0, (0, 0)));
    assert_eq!(s.version, 1);
    assert_eq!(s.accuracy, vec![(1, 0.75)]);
    assert_eq!(s.t, VirtualTime::from_nanos(4_000_000_000));
    assert_eq!(s.events, ev.len() as u64);
    // Known upload size from now on; a dropped client's next task starts afresh.
    s.apply(&at(5, EventKind::Dispatch, Some(1), 1).bytes(100));
    s.apply(&at(6, EventKind::DownloadDone, Some(1), 1));
    s.apply(&at(7, EventKind::ComputeDone, Some(1), 1));
    assert_eq!((s.phase(1), s.bytes_in_flight()), (Upload, 40));
}

#[test]
fn unknown_clients_are_ignored() {
    let mut s = LiveState::new("t", 1);
    s.apply(&at(0, EventKind::Dispatch, Some(7), 0).bytes(100));
    s.apply(&at(0, EventKind::ComputeDone, Some(7), 0));
    assert_eq!(s.bytes_in_flight(), 0);
    assert_eq!(s.transfers(), (0, 0));
}

fn find(buf: &Buffer, text: &str) -> bool {
    buffer_text(buf).contains(text)
}

#[test]
fn a_frame_shows_version_time_clients_and_coloured_phases() {
    let mut s = LiveState::new("demo", 500);
    for e in script() {
        s.apply(&e);
    }
    s.apply(&at(5, EventKind::Dispatch, Some(3), 1).bytes(2000));
    let view = View { state: &s, t: 5.0, speed: 10.0, status: Status::Paused, availability: None };
    let buf = render(&view, 60, 24);
    let text = buffer_text(&buf);
    assert!(find(&buf, "model version 1"), "{text}");
    assert!(find(&buf, "t = 5.0 s"), "{text}");
    assert!(find(&buf, "PAUSED"), "{text}");
    assert!(find(&buf, "bytes in flight 2.0 kB"), "{text}");
    assert!(find(&buf, "accuracy (1 evaluations)"), "{text}");
    // 24 rows: header 4, sparkline 6, legend 1 leave a 13-row grid box:
    // 11 rows of 29 cells inside.
    assert!(find(&buf, "319 of 500 clients shown"), "{text}");
    assert!(!find(&buf, "offline"), "no availability, no offline: {text}");
    // The grid's first row starts inside its box, one cell per two columns.
    let (x0, y0) = (1u16, 11u16);
    let cell = |c: u16| &buf[(x0 + 2 * c, y0)];
    assert_eq!(cell(0).fg, Phase::Idle.colour());
    assert_eq!(cell(1).fg, Phase::Dropped.colour());
    assert_eq!(cell(3).fg, Phase::Download.colour());
    assert_eq!(cell(3).symbol(), "■");
    // The sparkline has drawn its one point.
    assert!((1..5).any(|y| buf[(1, 4 + y)].symbol() != " "), "{text}");
}

#[test]
fn offline_clients_are_shown_where_availability_says_so() {
    let spec = Availability::Diurnal { period_h: 1.0, on_fraction: 0.5 };
    let model = AvailabilityModel::new(&spec, 40, SeedTree::new(1).child("availability")).unwrap();
    let s = LiveState::new("d", 40);
    let t = 100.0;
    let view = View { state: &s, t, speed: 1.0, status: Status::Running, availability: Some(&model) };
    let buf = render(&view, 80, 24);
    assert!(find(&buf, "offline"), "{}", buffer_text(&buf));
    let cols = 39;
    for c in 0..40u32 {
        let cell = &buf[(1 + 2 * (c % cols) as u16, 11 + (c / cols) as u16)];
        let off = !model.is_available(c, VirtualTime::from_secs_f64(t));
        let want = if off { Phase::Offline } else { Phase::Idle };
        assert_eq!((cell.fg, cell.symbol()), (want.colour(), want.symbol()), "client {c}");
    }
}

#[test]
fn a_tiny_terminal_draws_without_panicking() {
    let s = LiveState::new("x", 10_000);
    let view = View { state: &s, t: 0.0, speed: 3.0, status: Status::Running, availability: None };
    for (w, h) in [(1, 1), (5, 3), (20, 12), (200, 60)] {
        render(&view, w, h);
    }
}

#[test]
fn pace_pauses_and_changes_speed_without_jumps() {
    let pace = Pace::new(1000.0);
    let mut clock = RealTime::shared(Arc::new(Pace::new(1.0)));
    clock.advance_to(VirtualTime::ZERO);
    assert!(!pace.is_paused());
    pace.set_paused(true);
    assert!(pace.is_paused());
    let frozen = pace.virtual_now();
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(pace.virtual_now(), frozen);
    pace.set_speed(4000.0);
    assert_eq!(pace.speed(), 4000.0);
    pace.set_paused(false);
    // A released clock no longer waits, even for a far instant.
    pace.release();
    let mut clock = RealTime::shared(Arc::new(pace));
    let start = std::time::Instant::now();
    clock.advance_to(VirtualTime::from_secs_f64(1e6));
    assert!(start.elapsed() < Duration::from_secs(1));
}

#[test]
fn a_paused_clock_waits_until_resumed() {
    let pace = Arc::new(Pace::new(1e9));
    pace.set_paused(true);
    let p = pace.clone();
    let resumer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(150));
        p.set_paused(false);
    });
    let start = std::time::Instant::now();
    RealTime::shared(pace.clone()).advance_to(VirtualTime::from_secs_f64(1.0));
    assert!(start.elapsed() >= Duration::from_millis(140));
    assert_eq!(pace.reached(), 1.0);
    resumer.join().unwrap();
}

/// A run waiting, on a thread of its own, for the instant `s` seconds.
fn wait_in_background(pace: &Arc<Pace>, s: f64) -> std::thread::JoinHandle<()> {
    let p = pace.clone();
    std::thread::spawn(move || RealTime::shared(p).advance_to(VirtualTime::from_secs_f64(s)))
}

#[test]
fn a_paced_clock_shows_virtual_time_running_on_between_deliveries() {
    // At 1000x, an instant 10,000 s away is 10 s of wall time off: while
    // the run waits for it, the view's clock runs on from 0 at the speed,
    // that is 1000 virtual seconds per wall second since the pace began.
    let before = std::time::Instant::now();
    let pace = Arc::new(Pace::new(1000.0));
    let after = std::time::Instant::now();
    let waiter = wait_in_background(&pace, 1e4);
    let mut seen = pace.virtual_now();
    while seen < 2.0 && before.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(2));
        seen = pace.virtual_now();
    }
    assert!((2.0..1e4).contains(&seen), "virtual time shown: {seen}");
    let least = 1000.0 * after.elapsed().as_secs_f64();
    let shown = pace.virtual_now();
    let most = 1000.0 * before.elapsed().as_secs_f64();
    assert!((least..=most).contains(&shown), "shown {shown} s, not within [{least}, {most}]");
    assert_eq!(pace.reached(), 0.0, "the instant is not delivered yet");
    // Released, the waiter returns at once (within its 20 ms slice), not
    // after the 10 s it was waiting for.
    let released = std::time::Instant::now();
    pace.release();
    waiter.join().unwrap();
    assert!(released.elapsed() < Duration::from_secs(2), "released after {:?}", released.elapsed());
    assert_eq!(pace.reached(), 1e4);
}

#[test]
fn pausing_freezes_the_shown_time_where_it_stood() {
    let pace = Arc::new(Pace::new(1000.0));
    let waiter = wait_in_background(&pace, 1e4);
    let start = std::time::Instant::now();
    while pace.virtual_now() < 5.0 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let running = pace.virtual_now();
    pace.set_paused(true);
    let frozen = pace.virtual_now();
    // Paused where it stood: no jump back to the last delivered instant,
    // and no further while paused.
    assert!(running >= 5.0 && frozen >= running, "shown {running} s running, {frozen} s paused");
    std::thread::sleep(Duration::from_millis(30));
    assert_eq!(pace.virtual_now(), frozen);
    pace.set_speed(2000.0);
    assert_eq!(pace.virtual_now(), frozen, "a speed change while paused moves nothing");
    pace.set_paused(false);
    let resumed = pace.virtual_now();
    assert!(resumed >= frozen && resumed < frozen + 1000.0, "resumed at {resumed} s from {frozen} s");
    pace.release();
    waiter.join().unwrap();
}

#[test]
fn a_speed_change_paces_only_what_is_left_after_the_instant_reached() {
    // 10,000 s pass at once at 1e9x; at 1x, the next 0.01 s take 10 ms of
    // wall time from the instant reached, not from virtual time zero
    // (which would be 10,000 s more).
    let pace = Arc::new(Pace::new(1e9));
    RealTime::shared(pace.clone()).advance_to(VirtualTime::from_secs_f64(1e4));
    assert_eq!(pace.reached(), 1e4);
    pace.set_speed(1.0);
    let waiter = wait_in_background(&pace, 1e4 + 0.01);
    let start = std::time::Instant::now();
    while pace.reached() < 1e4 + 0.01 && start.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(2));
    }
    let reached = pace.reached();
    pace.release();
    waiter.join().unwrap();
    assert_eq!(reached, 1e4 + 0.01, "the clock still waits after {:?}", start.elapsed());
}
