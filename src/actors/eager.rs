//! Eager polling: the kernel and its actors take turns without handing
//! control back to the runtime between turns.
//!
//! The kernel loop is one future awaiting actor calls. Each call wakes the
//! loop as soon as the actor has answered, in the same tick of the actors'
//! task set; left to itself, the runtime would then return to its own loop
//! (a clock read for its busy-time metric on each side, a driver check)
//! before polling the kernel again, once per call, 100,000 times in a
//! 100,000-report run. [`Eager`] polls its future again at once while that
//! future woke itself during the last poll, and returns `Pending` only when
//! it really waits on something else.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

/// A future polled again at once while it wakes itself.
///
/// ```
/// use fedsim::actors::eager::Eager;
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// assert_eq!(rt.block_on(Eager::new(async { tokio::task::yield_now().await; 7 })), 7);
/// ```
pub struct Eager<F> {
    inner: Pin<Box<F>>,
}

impl<F: Future> Eager<F> {
    pub fn new(inner: F) -> Self {
        Eager { inner: Box::pin(inner) }
    }
}

/// The waker the inner future sees: notes a wake, and passes it on to the
/// runtime only when the wake comes after [`Eager`] returned `Pending` (a
/// wake during a poll is acted on by polling again, not by the runtime).
///
/// A waker on another thread writes `woken` then reads `polling`, while
/// [`Eager`] writes `polling` then reads `woken`: only sequentially
/// consistent accesses guarantee that one of the two sees the other's
/// write, so that no wake is lost.
struct Note {
    woken: AtomicBool,
    polling: AtomicBool,
    outer: Waker,
}

impl Wake for Note {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::SeqCst);
        if !self.polling.load(Ordering::SeqCst) {
            self.outer.wake_by_ref();
        }
    }
}

impl<F: Future> Future for Eager<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let note =
            Arc::new(Note { woken: AtomicBool::new(false), polling: AtomicBool::new(true), outer: cx.waker().clone() });
        let waker = Waker::from(note.clone());
        let mut inner_cx = Context::from_waker(&waker);
        loop {
            note.woken.store(false, Ordering::SeqCst);
            if let Poll::Ready(v) = self.inner.as_mut().poll(&mut inner_cx) {
                return Poll::Ready(v);
            }
            if note.woken.load(Ordering::SeqCst) {
                continue;
            }
            note.polling.store(false, Ordering::SeqCst);
            // A wake from another thread between the check and the store
            // was not passed on: act on it here.
            if !note.woken.load(Ordering::SeqCst) {
                return Poll::Pending;
            }
            note.polling.store(true, Ordering::SeqCst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    /// Pending `left` times, waking itself each time (by reference, and
    /// every other time by value, as a reply channel does), then ready.
    struct SelfWaking {
        left: usize,
    }

    impl Future for SelfWaking {
        type Output = &'static str;
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<&'static str> {
            if self.left == 0 {
                return Poll::Ready("done");
            }
            self.left -= 1;
            match self.left % 2 {
                0 => cx.waker().wake_by_ref(),
                _ => {
                    // A waker handed on, as a reply channel holds one.
                    let held = cx.waker().clone();
                    held.wake();
                }
            }
            Poll::Pending
        }
    }

    /// Counts the wakes that reach the runtime.
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_self_waking_future_finishes_in_one_outer_poll_without_waking_the_runtime() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let mut fut = Eager::new(SelfWaking { left: 1000 });
        let poll = Pin::new(&mut fut).poll(&mut Context::from_waker(&waker));
        assert_eq!(poll, Poll::Ready("done"));
        assert_eq!(count.0.load(Ordering::SeqCst), 0);
    }

    /// Answers sent from another thread, racing the eager loop's return to
    /// the runtime: every wake must reach someone, or the run would hang.
    #[test]
    fn wakes_from_another_thread_are_never_lost() {
        let (done_tx, done_rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let (ask, asked) = std::sync::mpsc::channel::<tokio::sync::oneshot::Sender<u32>>();
            std::thread::spawn(move || asked.into_iter().enumerate().for_each(|(i, tx)| _ = tx.send(i as u32)));
            let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
            let sum = rt.block_on(Eager::new(async move {
                let mut sum = 0u64;
                for _ in 0..20_000 {
                    let (tx, rx) = tokio::sync::oneshot::channel();
                    ask.send(tx).unwrap();
                    sum += u64::from(rx.await.unwrap());
                }
                sum
            }));
            done_tx.send(sum).unwrap();
        });
        let sum = done_rx.recv_timeout(std::time::Duration::from_secs(60)).expect("no wake was lost");
        assert_eq!(sum, (0..20_000u64).sum::<u64>());
    }

    #[test]
    fn a_waiting_future_returns_pending_and_a_later_wake_reaches_the_runtime() {
        let count = Arc::new(Count(AtomicUsize::new(0)));
        let waker = Waker::from(count.clone());
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let mut fut = Eager::new(rx);
        let mut cx = Context::from_waker(&waker);
        assert!(Pin::new(&mut fut).poll(&mut cx).is_pending());
        tx.send(3).unwrap();
        assert_eq!(count.0.load(Ordering::SeqCst), 1, "the send woke the runtime");
        assert_eq!(Pin::new(&mut fut).poll(&mut cx), Poll::Ready(Ok(3)));
    }
}
