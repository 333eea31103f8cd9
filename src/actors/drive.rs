//! Actors the kernel drives itself: a call delivers one message to the
//! actor's mailbox and has the actor handle it at once, in place.
//!
//! The kernel decides when every message is handled (its virtual instant,
//! its place in the queue) and waits for each answer before going on, so an
//! actor spawned on a runtime would add nothing but a task switch per call:
//! the runtime's scheduler, its clock reads for busy-time metrics and a
//! wake-up, 100,000 times in a 100,000-report run. [`Driven`] keeps the
//! actor's context future (actix's `Context::into_future`) and polls it
//! right after posting the message, so the answer is ready when the call
//! first looks for it. The server and the shards stay actix actors with
//! their mailboxes and handlers; only who polls them changes.

use actix::dev::{ContextFut, ToEnvelope};
use actix::{Actor, Addr, AsyncContext, Context, Handler, MailboxError, Message};
use std::future::Future;
use std::pin::{pin, Pin};

/// An actor and its mailbox, handled whenever the kernel calls it.
///
/// ```
/// use actix::{Actor, Context, Handler, Message};
/// use fedsim::actors::drive::Driven;
///
/// struct Doubler;
/// impl Actor for Doubler {
///     type Context = Context<Self>;
/// }
/// struct Double(u32);
/// impl Message for Double {
///     type Result = u32;
/// }
/// impl Handler<Double> for Doubler {
///     type Result = u32;
///     fn handle(&mut self, Double(x): Double, _: &mut Context<Self>) -> u32 {
///         2 * x
///     }
/// }
///
/// let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
/// let mut doubler = Driven::new(Doubler);
/// assert_eq!(rt.block_on(doubler.call(Double(21))), Ok(42));
/// ```
pub struct Driven<A: Actor<Context = Context<A>>> {
    addr: Addr<A>,
    /// The actor with its context: polling it handles its mailbox.
    run: ContextFut<A, Context<A>>,
}

impl<A: Actor<Context = Context<A>>> Driven<A> {
    pub fn new(actor: A) -> Self {
        let ctx = Context::new();
        let addr = ctx.address();
        Driven { addr, run: ctx.into_future(actor) }
    }

    /// Delivers `msg` and returns the actor's answer.
    pub async fn call<M>(&mut self, msg: M) -> Result<M::Result, MailboxError>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
        A::Context: ToEnvelope<A, M>,
    {
        let mut reply = pin!(self.addr.send(msg));
        let run = &mut self.run;
        std::future::poll_fn(|cx| {
            // The actor's future only finishes once it has stopped; then
            // the reply says the mailbox closed.
            let _ = Pin::new(&mut *run).poll(cx);
            reply.as_mut().poll(cx)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::{Context as TaskContext, Poll, Waker};

    /// Counts what it is told, and says how many it has heard.
    #[derive(Default)]
    struct Counter {
        heard: u32,
    }

    impl Actor for Counter {
        type Context = Context<Self>;
    }

    struct Tell(u32);

    impl Message for Tell {
        type Result = (u32, u32);
    }

    impl Handler<Tell> for Counter {
        type Result = actix::MessageResult<Tell>;
        fn handle(&mut self, Tell(x): Tell, _: &mut Context<Self>) -> Self::Result {
            self.heard += 1;
            actix::MessageResult((x, self.heard))
        }
    }

    /// Every call is answered on its first poll, with no runtime at all:
    /// the actor handles the message inside the call.
    #[test]
    fn a_call_is_answered_in_place_and_in_order() {
        let mut counter = Driven::new(Counter::default());
        let mut cx = TaskContext::from_waker(Waker::noop());
        for i in 1..=100 {
            let mut call = pin!(counter.call(Tell(i * 7)));
            assert_eq!(call.as_mut().poll(&mut cx), Poll::Ready(Ok((i * 7, i))));
        }
    }
}
