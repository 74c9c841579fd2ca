//! llm-gateway patch: a one-value hand-over between two threads, in place of
//! `std::sync::mpsc::channel` for the hand-overs tiny_http makes per request (a connection's
//! reader and writer passed from one request to the next). An mpsc channel allocates about
//! 2.5 KiB (a counter and a list block) for its single message.

use std::sync::{Arc, Condvar, Mutex};

struct Slot<T> {
    state: Mutex<Inner<T>>,
    ready: Condvar,
}

struct Inner<T> {
    state: State<T>,
    /// The receiver sleeps on `ready`: only then is a wake-up (a system call) needed.
    waiting: bool,
}

enum State<T> {
    Empty,
    Full(T),
    /// Taken by the receiver, or the sender left without sending.
    Done,
}

pub struct Sender<T>(Arc<Slot<T>>);
pub struct Receiver<T>(Arc<Slot<T>>);

/// The sender left without sending.
#[derive(Debug)]
pub struct RecvError;

pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let slot = Arc::new(Slot {
        state: Mutex::new(Inner {
            state: State::Empty,
            waiting: false,
        }),
        ready: Condvar::new(),
    });
    (Sender(slot.clone()), Receiver(slot))
}

impl<T> Sender<T> {
    /// Hands `value` over; a second send is ignored.
    pub fn send(&self, value: T) {
        let mut inner = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if let State::Empty = inner.state {
            inner.state = State::Full(value);
            if inner.waiting {
                self.0.ready.notify_one();
            }
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        let mut inner = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        if let State::Empty = inner.state {
            inner.state = State::Done;
            if inner.waiting {
                self.0.ready.notify_one();
            }
        }
    }
}

impl<T> Receiver<T> {
    /// Waits for the value.
    pub fn recv(&self) -> Result<T, RecvError> {
        let mut inner = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            match std::mem::replace(&mut inner.state, State::Done) {
                State::Full(value) => return Ok(value),
                State::Done => return Err(RecvError),
                State::Empty => {
                    inner.state = State::Empty;
                    inner.waiting = true;
                    inner = self.0.ready.wait(inner).unwrap_or_else(|e| e.into_inner());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hands_over_one_value_across_threads() {
        let (tx, rx) = channel();
        let t = std::thread::spawn(move || rx.recv().unwrap());
        tx.send(7);
        assert_eq!(t.join().unwrap(), 7);
    }

    #[test]
    fn a_sender_that_leaves_wakes_the_receiver() {
        let (tx, rx) = channel::<u8>();
        let t = std::thread::spawn(move || rx.recv().is_err());
        drop(tx);
        assert!(t.join().unwrap());
    }
}
