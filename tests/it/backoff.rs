//! Concurrency that backs off by itself: a 429 or 503 lowers the number of
//! requests werf-push keeps in flight to that registry. Counted through the fault proxy in
//! front of the real registry (requests in flight when each arrives), never timed.

use crate::support::cmd::assert_success;
use crate::support::layouts::{self, Format};
use crate::support::proxy::{Proxy, ProxyConfig, StatusFault};
use crate::support::registry::Registry;
use crate::support::scenario::*;

/// 48 small layers pushed with 16 requests at most in flight; the first upload starts
/// (POST) are answered 429 or 503 (`Retry-After: 0`), after a first wave of 16 blob checks. Before the 429, up to 16 requests were in flight at
/// once; once werf-push has seen it (after the 16 that may already be on their way), no
/// more than half of that arrive together. The image reads back identical.
#[test]
fn a_429_halves_the_requests_in_flight() {
    for status in [429u16, 503] {
        let reg = Registry::start();
        let t = tmp();
        let src = t.path().join("src");
        let sizes = vec![10 << 10; 96];
        let digest = layouts::image(&src, &sizes, 3, Format::Oci, None);
        let proxy = Proxy::start(
            &reg.host,
            ProxyConfig {
                status_faults: vec![StatusFault::new(Some("POST"), "/blobs/uploads/", status)
                    .after(40)
                    .times(4)
                    .retry_after("0")],
                ..Default::default()
            },
        );
        let dest = format!("{}/many:v1", proxy.host);
        let out = push(&["--requests", "32", &oci(&src), &dest]);
        assert_success(&out);
        assert_reads_back_identical(&format!("{}/many:v1", reg.host), &src, &digest);
        let log = proxy.stats().log;
        let mut by_arrival = log.clone();
        by_arrival.sort_by_key(|l| l.arrived);
        let first_fault = log
            .iter()
            .filter(|l| l.status == status)
            .map(|l| l.at)
            .min()
            .unwrap_or_else(|| panic!("no {status} was answered"));
        let before = by_arrival
            .iter()
            .filter(|l| l.arrived < first_fault)
            .map(|l| l.in_flight)
            .max()
            .unwrap_or(0);
        let after: Vec<usize> = by_arrival
            .iter()
            .filter(|l| l.arrived > first_fault)
            .skip(32)
            .take(32)
            .map(|l| l.in_flight)
            .collect();
        assert_eq!(after.len(), 32, "enough requests after the {status}");
        let peak = after.iter().copied().max().unwrap();
        assert!(
            before >= 24,
            "{status}: up to 32 requests in flight before it, saw {before}"
        );
        assert!(
            peak <= 22,
            "{status}: after it, about 16 in flight (+ as the bound grows back), saw {after:?}"
        );
    }
}
