//! Admission of proxy requests: at most `workers` are served at once, up to `queue` more wait
//! for a turn, and the rest are refused at once (the caller answers 503 with `Retry-After`).
//!
//! A proxy request is served on the connection thread that read it, so "workers" is a number
//! of turns, not of threads: this is what bounds the upstream connections, the streams and the
//! memory in use, while control requests (never admitted here) are always answered.

use parking_lot::{Condvar, Mutex};

pub struct Admission {
    slots: Mutex<Slots>,
    freed: Condvar,
}

struct Slots {
    workers: usize,
    queue: usize,
    serving: usize,
    waiting: usize,
    closed: bool,
}

/// Why a request was not admitted.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Every turn is taken and the queue is full.
    Full,
    /// The gateway is shutting down.
    Closed,
}

/// One turn; dropping it lets the next request in.
pub struct Turn<'a> {
    admission: &'a Admission,
}

impl Admission {
    pub fn new(workers: usize, queue: usize) -> Admission {
        Admission {
            slots: Mutex::new(Slots {
                workers: workers.max(1),
                queue,
                serving: 0,
                waiting: 0,
                closed: false,
            }),
            freed: Condvar::new(),
        }
    }

    /// New limits, effective at once (requests already served keep their turn).
    pub fn set_limits(&self, workers: usize, queue: usize) {
        let mut slots = self.slots.lock();
        slots.workers = workers.max(1);
        slots.queue = queue;
        drop(slots);
        self.freed.notify_all();
    }

    /// Takes a turn, waiting in the queue when every turn is taken and the queue has room.
    pub fn enter(&self) -> Result<Turn<'_>, Refusal> {
        let mut slots = self.slots.lock();
        if slots.closed {
            return Err(Refusal::Closed);
        }
        if slots.serving >= slots.workers {
            if slots.waiting >= slots.queue {
                return Err(Refusal::Full);
            }
            slots.waiting += 1;
            while slots.serving >= slots.workers && !slots.closed {
                self.freed.wait(&mut slots);
            }
            slots.waiting -= 1;
            if slots.closed {
                return Err(Refusal::Closed);
            }
        }
        slots.serving += 1;
        Ok(Turn { admission: self })
    }

    /// Refuses new requests and wakes the waiting ones (they are refused too).
    pub fn close(&self) {
        self.slots.lock().closed = true;
        self.freed.notify_all();
    }

    /// Requests being served.
    pub fn serving(&self) -> usize {
        self.slots.lock().serving
    }

    /// Requests waiting for a turn.
    pub fn waiting(&self) -> usize {
        self.slots.lock().waiting
    }
}

impl Drop for Turn<'_> {
    fn drop(&mut self) {
        let mut slots = self.admission.slots.lock();
        slots.serving -= 1;
        let someone_waits = slots.waiting > 0;
        drop(slots);
        if someone_waits {
            self.admission.freed.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    /// A thread that asks for a turn, once it waits in the queue.
    fn queued(admission: &Arc<Admission>) -> std::thread::JoinHandle<Result<(), Refusal>> {
        let waiter = {
            let admission = admission.clone();
            std::thread::spawn(move || admission.enter().map(|_| ()))
        };
        while admission.waiting() == 0 {
            std::thread::sleep(Duration::from_millis(1));
        }
        waiter
    }

    #[test]
    fn turns_queue_and_refusals() {
        let admission = Admission::new(2, 0);
        let a = admission.enter().unwrap();
        let _b = admission.enter().unwrap();
        assert_eq!(admission.enter().err(), Some(Refusal::Full));
        drop(a);
        let _c = admission.enter().unwrap();
        assert_eq!(admission.serving(), 2);
    }

    #[test]
    fn a_queued_request_gets_the_next_free_turn() {
        let admission = Arc::new(Admission::new(1, 1));
        let first = admission.enter().unwrap();
        let waiter = queued(&admission);
        // The queue (one place) is taken: the next one is refused at once.
        assert_eq!(admission.enter().err(), Some(Refusal::Full));
        drop(first);
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert_eq!(admission.serving(), 0);
    }

    #[test]
    fn closing_refuses_the_waiting_and_the_new() {
        let admission = Arc::new(Admission::new(1, 4));
        let _held = admission.enter().unwrap();
        let waiter = queued(&admission);
        admission.close();
        assert_eq!(waiter.join().unwrap(), Err(Refusal::Closed));
        assert_eq!(admission.enter().err(), Some(Refusal::Closed));
    }

    #[test]
    fn raised_limits_let_a_waiter_in() {
        let admission = Arc::new(Admission::new(1, 1));
        let _held = admission.enter().unwrap();
        let waiter = queued(&admission);
        admission.set_limits(2, 1);
        assert_eq!(waiter.join().unwrap(), Ok(()));
    }
}
