//! Unit tests of the retry engine (`retry.rs`).
use super::*;

#[test]
fn retry_after_table() {
    let now = httpdate::parse_http_date("Sun, 29 Nov 2026 02:00:00 GMT").unwrap();
    let cases = [
        ("1", Some(1)),
        (" 120 ", Some(120)),
        ("Sun, 29 Nov 2026 02:00:05 GMT", Some(5)),
        ("Sun, 29 Nov 2026 01:59:00 GMT", Some(0)),
        ("soon", None),
        ("-1", None),
        ("", None),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse_retry_after(input, now),
            want.map(Duration::from_secs),
            "{input:?}"
        );
    }
}

#[test]
fn budget_is_shared_and_bounded() {
    let b = RetryBudget::new(2, 3);
    let now = Instant::now();
    // (attempt, expected)
    let steps = [(0, true), (1, true), (2, false), (0, true), (0, false)];
    for (i, (attempt, want)) in steps.into_iter().enumerate() {
        assert_eq!(b.take(attempt, now, Duration::ZERO), want, "step {i}");
    }
}

#[test]
fn retrier_counts_and_stops() {
    let b = RetryBudget::new(2, 3);
    let mut r = Retrier::new(&b);
    // (retry_after, granted)
    let steps = [(Some(1), Some(1)), (Some(2), Some(2)), (Some(1), None)];
    for (i, (after, want)) in steps.into_iter().enumerate() {
        let got = r.next(after.map(Duration::from_secs));
        assert_eq!(got, want.map(Duration::from_secs), "step {i}");
    }
    assert_eq!((r.attempt(), r.max()), (2, 2));
    // The run's budget had 3: one is left for another operation, then none.
    let mut other = Retrier::new(&b);
    assert!(other.next(Some(Duration::ZERO)).is_some());
    assert!(other.next(Some(Duration::ZERO)).is_none());
}

#[tokio::test]
async fn retry_loop_stops_when_final_or_out_of_budget() {
    use std::cell::Cell;
    // (outcomes in order (true: worth another attempt), per-operation bound) ->
    // (attempts made, retries noted)
    let cases: [(&[bool], u32, usize, usize); 4] = [
        (&[false], 5, 1, 0),
        (&[true, true, false], 5, 3, 2),
        (&[true, true, true, true], 2, 3, 2),
        (&[true], 0, 1, 0),
    ];
    for (outcomes, bound, attempts, noted) in cases {
        let b = RetryBudget::new(bound, 100);
        let made = Cell::new(0);
        let mut heard = 0;
        let last = b
            .retry(
                || {
                    let i = made.get();
                    made.set(i + 1);
                    async move { outcomes[i.min(outcomes.len() - 1)] }
                },
                |&worth, _| worth.then_some(Some(Duration::from_millis(1))),
                |_, r, _| {
                    heard += 1;
                    assert_eq!(r.attempt(), heard as u32);
                },
            )
            .await;
        assert_eq!((made.get(), heard), (attempts, noted), "{outcomes:?}");
        assert_eq!(last, outcomes[(attempts - 1).min(outcomes.len() - 1)]);
    }
}

#[tokio::test]
async fn retry_now_takes_nothing_and_a_cut_wait_stops() {
    use std::cell::Cell;
    // A bound of 1: two "now" retries then one "after" retry, then final.
    let b = RetryBudget::new(1, 1);
    let made = Cell::new(0);
    let decisions = [Again::Now, Again::Now, Again::After(Some(Duration::ZERO))];
    let mut waits = Vec::new();
    let last = b
        .retry_until(
            None,
            || {
                let i = made.get();
                made.set(i + 1);
                async move { i }
            },
            |&i, _| decisions.get(i).copied().unwrap_or(Again::Final),
            |_, r, wait| waits.push((r.attempt(), wait)),
        )
        .await;
    assert_eq!(last, Ok(3));
    assert_eq!(waits.len(), 3);
    assert_eq!(waits[..2], [(0, Duration::ZERO), (0, Duration::ZERO)]);
    // A cancelled token cuts the wait before the retry.
    let b = RetryBudget::new(5, 5);
    let cancel = CancellationToken::new();
    cancel.cancel();
    let cut = b
        .retry_until(
            Some(&cancel),
            || async {},
            |_, _| Again::After(Some(Duration::from_secs(30))),
            |_, _, _| {},
        )
        .await;
    assert_eq!(cut, Err(WaitCut));
}

#[test]
fn retryable_statuses_table() {
    let cases = [
        (408, true),
        (429, true),
        (500, true),
        (502, true),
        (503, true),
        (504, true),
        (400, false),
        (401, false),
        (404, false),
        (413, false),
        (501, false),
    ];
    for (status, want) in cases {
        assert_eq!(is_retryable_status(status), want, "{status}");
    }
}

#[test]
fn time_bound_stops_retries() {
    let b = RetryBudget::new(10, 100).with_max_elapsed(Duration::from_secs(5));
    let now = Instant::now();
    // (wait before the retry, expected)
    let cases = [(0, true), (4, true), (6, false), (600, false)];
    for (wait, want) in cases {
        assert_eq!(
            b.take(0, now, Duration::from_secs(wait)),
            want,
            "wait {wait}s"
        );
    }
}

#[test]
fn delays_grow_and_are_capped() {
    let b = RetryBudget::new(10, 10);
    let cases = [(0, 100, 300), (3, 800, 2400), (20, 25_600, 30_000)];
    for (attempt, lo, hi) in cases {
        let d = b.delay(attempt, None).as_millis() as u64;
        assert!((lo..=hi).contains(&d), "attempt {attempt}: {d} ms");
    }
    assert_eq!(
        b.delay(0, Some(Duration::from_secs(3))),
        Duration::from_secs(3)
    );
    assert_eq!(
        b.delay(0, Some(Duration::from_secs(3600))),
        Duration::from_secs(30)
    );
}
