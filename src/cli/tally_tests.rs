//! Unit tests of the numbers progress shows (`tally.rs`).
use super::*;

/// Steps of a run.
enum Step {
    Planned(&'static [(&'static str, u64)]),
    Started(&'static str, u64),
    Moved(&'static str, u64, u64),
    Done(&'static str, bool),
}
use Step::*;

#[test]
fn totals_table() {
    // (steps, (sent, whole) wanted, part of the text wanted)
    type Case = (&'static [Step], (u64, u64), &'static str);
    let cases: [Case; 8] = [
        (&[], (0, 0), "checking the tags"),
        // The whole is known before any byte moves.
        (
            &[Planned(&[("a", 1000), ("b", 3000)])],
            (0, 4000),
            "checking 2 blobs",
        ),
        // A blob found present leaves the whole.
        (
            &[Planned(&[("a", 1000), ("b", 3000)]), Done("b", false)],
            (0, 1000),
            "checking 1 blob",
        ),
        // Started and moving: counted once, no longer checked.
        (
            &[
                Planned(&[("a", 1000)]),
                Started("a", 1000),
                Moved("a", 400, 0),
            ],
            (400, 1000),
            "400 B of 1000 B (40%)",
        ),
        // A restart from 0 after 800 bytes: the 500 again are resent, not sent twice.
        (
            &[
                Planned(&[("a", 1000)]),
                Started("a", 1000),
                Moved("a", 800, 0),
                Moved("a", 0, 10),
                Moved("a", 1000, 20),
                Done("a", true),
            ],
            (1000, 1000),
            "800 B resent",
        ),
        // Done without progress events for the last bytes: all sent.
        (
            &[
                Planned(&[("a", 1000)]),
                Started("a", 1000),
                Moved("a", 10, 0),
                Done("a", true),
            ],
            (1000, 1000),
            "(100%)",
        ),
        // Started, then found present after all: out of the whole.
        (
            &[
                Planned(&[("a", 1000)]),
                Started("a", 1000),
                Moved("a", 10, 0),
                Done("a", false),
            ],
            (0, 0),
            "0 B of 0 B (0%)",
        ),
        // One digest in two registries: checked twice.
        (
            &[Planned(&[("a", 10), ("a", 10)]), Done("a", false)],
            (0, 10),
            "checking 1 blob",
        ),
    ];
    for (i, (steps, want, text)) in cases.iter().enumerate() {
        let mut t = Tally::default();
        for s in *steps {
            match s {
                Planned(b) => t.planned(b.iter().map(|(d, n)| (d.to_string(), *n))),
                Started(d, n) => t.started(d, *n),
                Moved(d, n, ms) => t.moved(d, *n, Duration::from_millis(*ms)),
                Done(d, sent) => t.done(d, *sent),
            }
        }
        assert_eq!(t.position(), *want, "case {i}");
        assert!(t.text().contains(text), "case {i}: {}", t.text());
    }
}

#[test]
fn one_blob_moving_has_the_total_rate() {
    let mut t = Tally::default();
    t.started("a", 100 << 20);
    for s in 0..=4u64 {
        t.moved("a", s * (10 << 20), Duration::from_secs(s));
    }
    let total = t.text();
    let blob = t.blob_text("a");
    assert!(blob.starts_with("10.0 MiB/s"), "{blob}");
    assert!(total.contains(", 10.0 MiB/s,"), "{total}");
}

#[test]
fn waiting_table() {
    let s = Duration::from_secs;
    let mut retrying = Tally::default();
    retrying.retrying("upload of blob d5e0bb34", s(12));
    let mut moving = Tally::default();
    moving.started("a", 10);
    moving.moved("a", 5, s(9));
    let mut checking = Tally::default();
    checking.planned([("a".to_string(), 10)]);
    let post = || Some(("POST upload".to_string(), s(4)));
    // (tally, now, the transport's retry, wanted)
    type Case<'a> = (&'a Tally, u64, Option<(String, Duration)>, Option<&'a str>);
    let cases: [Case; 8] = [
        (
            &retrying,
            10,
            None,
            Some("retrying upload of blob d5e0bb34 in 2s"),
        ),
        // This run's retry first; once its time is past, the transport's, if any.
        (
            &retrying,
            10,
            post(),
            Some("retrying upload of blob d5e0bb34 in 2s"),
        ),
        (&retrying, 13, post(), Some("retrying POST upload in 4s")),
        (&retrying, 13, None, Some("waiting for the registry")),
        (&moving, 10, post(), None),
        (&moving, 12, None, Some("waiting for the registry")),
        (
            &checking,
            1,
            None,
            Some("waiting for the registry's answers to the checks"),
        ),
        (&Tally::default(), 1, None, Some("waiting for the registry")),
    ];
    for (i, (t, now, transport, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            t.waiting(s(now), s(2), transport).as_deref(),
            want,
            "case {i}"
        );
    }
}

#[test]
fn plurals() {
    for (n, want) in [(0, "0 tags"), (1, "1 tag"), (2, "2 tags")] {
        assert_eq!(count(n, "tag"), want);
    }
}
