//! The bound on requests in flight to one registry, which backs off by itself: an answer
//! that says "too many" (429, 503) halves the bound, once per window (only an answer to a
//! request sent after the last cut cuts again, as TCP does per round trip), and every
//! `bound` answers that do not say it raise the bound by one, up to `--requests`. So a high
//! bound stays polite to hosted registries' rate limits. `Retry-After` waits stay with the
//! retry rules; this only decides how many requests go at once.
//!
//! Knows nothing of what the requests are or of HTTP beyond the two statuses.

use std::sync::{Arc, Mutex};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shared by every request to one registry.
#[derive(Debug)]
pub(crate) struct Limiter {
    sem: Arc<Semaphore>,
    state: Mutex<State>,
}

#[derive(Debug, Clone, PartialEq)]
struct State {
    bound: usize,
    max: usize,
    /// Permits to retire as they come back (the bound was cut below what is in flight).
    debt: usize,
    /// Answers since the bound last moved up.
    good: usize,
    /// Bumped at every cut; a request remembers the window it was sent in.
    window: u64,
}

/// One request's place; returned when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    permit: Option<OwnedSemaphorePermit>,
    limiter: Arc<Limiter>,
    window: u64,
}

/// What an answer says about the registry's load.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Load {
    /// 429 or 503: fewer at once.
    TooMany,
    /// Any other answer.
    Fine,
}

impl Load {
    /// What an answer of `status` says: 429 and 503 are [`Load::TooMany`].
    pub(crate) fn of_status(status: u16) -> Load {
        match status {
            429 | 503 => Load::TooMany,
            _ => Load::Fine,
        }
    }
}

impl Limiter {
    /// A bound of `max` requests in flight (at least one), which 429 and 503 answers lower
    /// for a while.
    pub(crate) fn new(max: usize) -> Arc<Limiter> {
        let max = max.max(1);
        Arc::new(Limiter {
            sem: Arc::new(Semaphore::new(max)),
            state: Mutex::new(State {
                bound: max,
                max,
                debt: 0,
                good: 0,
                window: 0,
            }),
        })
    }

    /// Waits for a place.
    pub(crate) async fn slot(self: &Arc<Self>) -> Slot {
        let permit = self.sem.clone().acquire_owned().await.ok();
        let window = self.lock().window;
        Slot {
            permit,
            limiter: self.clone(),
            window,
        }
    }

    /// The bound now. (tests read it)
    #[cfg(test)]
    pub(crate) fn bound(&self) -> usize {
        self.lock().bound
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Slot {
    /// Tells the limiter how the registry answered this request.
    pub(crate) fn answered(&self, load: Load) {
        let mut s = self.limiter.lock();
        let add = s.answer(load, self.window);
        drop(s);
        if add {
            self.limiter.sem.add_permits(1);
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut s = self.limiter.lock();
        if s.debt > 0 {
            s.debt -= 1;
            if let Some(p) = self.permit.take() {
                p.forget();
            }
        }
    }
}

impl State {
    /// Applies one answer; true when a permit must be added.
    fn answer(&mut self, load: Load, window: u64) -> bool {
        match load {
            Load::TooMany if window == self.window => {
                let cut = self.bound - (self.bound / 2).max(1);
                self.bound -= cut;
                self.debt += cut;
                self.good = 0;
                self.window += 1;
                false
            }
            Load::TooMany => false,
            Load::Fine => {
                self.good += 1;
                if self.good < self.bound || self.bound >= self.max {
                    return false;
                }
                self.good = 0;
                self.bound += 1;
                if self.debt > 0 {
                    self.debt -= 1;
                    false
                } else {
                    true
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(bound: usize, max: usize) -> State {
        State {
            bound,
            max,
            debt: 0,
            good: 0,
            window: 0,
        }
    }

    #[test]
    fn answers_move_the_bound() {
        // (start bound, max, answers as (load, window sent in), bound after, debt after)
        use Load::*;
        type Case = (usize, usize, &'static [(Load, u64)], usize, usize);
        let cases: &[Case] = &[
            (16, 16, &[(TooMany, 0)], 8, 8),
            // Two 429s of one window cut once; one of the next window cuts again.
            (16, 16, &[(TooMany, 0), (TooMany, 0)], 8, 8),
            (16, 16, &[(TooMany, 0), (TooMany, 1)], 4, 12),
            // Never below one.
            (1, 16, &[(TooMany, 0)], 1, 0),
            (2, 16, &[(TooMany, 0), (TooMany, 1)], 1, 1),
            // `bound` good answers raise it by one, up to max.
            (2, 4, &[(Fine, 0), (Fine, 0)], 3, 0),
            (4, 4, &[(Fine, 0); 8], 4, 0),
            (2, 4, &[(Fine, 0); 5], 4, 0),
            // Raising pays the debt first.
            (
                16,
                16,
                &[
                    (TooMany, 0),
                    (Fine, 1),
                    (Fine, 1),
                    (Fine, 1),
                    (Fine, 1),
                    (Fine, 1),
                    (Fine, 1),
                    (Fine, 1),
                    (Fine, 1),
                ],
                9,
                7,
            ),
        ];
        for (i, (bound, max, answers, want_bound, want_debt)) in cases.iter().enumerate() {
            let mut s = state(*bound, *max);
            for (load, window) in answers.iter() {
                s.answer(*load, *window);
            }
            assert_eq!(
                (s.bound, s.debt),
                (*want_bound, *want_debt),
                "case {i}: {answers:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_cut_holds_back_new_requests_until_slots_return() {
        let l = Limiter::new(4);
        let slots: Vec<Slot> = futures_util::future::join_all((0..4).map(|_| l.slot())).await;
        slots[0].answered(Load::TooMany);
        assert_eq!(l.bound(), 2);
        drop(slots);
        // Two permits retired as the four came back: two places now.
        let a = l.slot().await;
        let b = l.slot().await;
        let third = tokio::time::timeout(std::time::Duration::from_millis(50), l.slot()).await;
        assert!(third.is_err(), "a third request waits");
        drop((a, b));
    }
}
