//! Retries the transport is waiting for, learned from its log events (the fields
//! `retry_in_ms` and `retry_what` of its `retry N/M ...` lines, at every log level), so that
//! plain progress can say what it waits for while no byte moves (`retrying POST upload in
//! 4s`). Knows no command.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use tracing::field::{Field, Visit};
use tracing_subscriber::layer::Context;
use tracing_subscriber::Layer;

/// The latest retry announced: what, and when it goes.
static PENDING: Mutex<Option<(String, Instant)>> = Mutex::new(None);

/// The retry still waited for, if any: what, and how long until it goes.
pub fn pending() -> Option<(String, Duration)> {
    let pending = PENDING.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let (what, at) = pending?;
    let left = at.checked_duration_since(Instant::now())?;
    Some((what, left))
}

/// The layer that reads retry events (whatever the log filter shows).
pub struct RetryWaits;

impl<S: tracing::Subscriber> Layer<S> for RetryWaits {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = Fields::default();
        event.record(&mut fields);
        if let (Some(ms), Some(what)) = (fields.ms, fields.what) {
            let at = Instant::now() + Duration::from_millis(ms);
            *PENDING.lock().unwrap_or_else(|e| e.into_inner()) = Some((what, at));
        }
    }
}

#[derive(Default)]
struct Fields {
    ms: Option<u64>,
    what: Option<String>,
}

impl Visit for Fields {
    fn record_u64(&mut self, field: &Field, value: u64) {
        if field.name() == "retry_in_ms" {
            self.ms = Some(value);
        }
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "retry_what" {
            self.what = Some(value.to_string());
        }
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if field.name() == "retry_what" {
            self.what = Some(format!("{value:?}"));
        }
    }
}
