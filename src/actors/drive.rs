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
//!
//! A call is then an ordinary function call, and the kernel's loop an
//! ordinary loop: no runtime, and no `async` state machine around it.

use actix::dev::{ContextFut, ToEnvelope};
use actix::{Actor, Addr, AsyncContext, Context, Handler, MailboxError, Message};
use std::future::Future;
use std::pin::{pin, Pin};
use std::task::{Context as TaskContext, Poll, Waker};

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
/// let mut doubler = Driven::new(Doubler);
/// assert_eq!(doubler.call(Double(21)), Ok(42));
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

    /// Delivers `msg` and returns the actor's answer, handled in place.
    ///
    /// The handler must answer synchronously (a value or `MessageResult`,
    /// as every handler of the server and the shards does): the actor is
    /// polled once, with no runtime and no waker, and the reply is then
    /// ready. A handler that returned a future would be a bug in the
    /// kernel, and panics here rather than hang the run.
    pub fn call<M>(&mut self, msg: M) -> Result<M::Result, MailboxError>
    where
        A: Handler<M>,
        M: Message + Send + 'static,
        M::Result: Send,
        A::Context: ToEnvelope<A, M>,
    {
        let mut reply = pin!(self.addr.send(msg));
        let mut cx = TaskContext::from_waker(Waker::noop());
        // The actor's future only finishes once it has stopped; then the
        // reply says the mailbox closed.
        let _ = Pin::new(&mut self.run).poll(&mut cx);
        match reply.as_mut().poll(&mut cx) {
            Poll::Ready(answer) => answer,
            Poll::Pending => unreachable!("a driven actor's handler answers in place, not with a future"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    /// Every call is answered in place, with no runtime at all, and in
    /// order.
    #[test]
    fn a_call_is_answered_in_place_and_in_order() {
        let mut counter = Driven::new(Counter::default());
        for i in 1..=100 {
            assert_eq!(counter.call(Tell(i * 7)), Ok((i * 7, i)));
        }
    }
}
