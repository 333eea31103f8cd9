//! Actors the kernel drives itself: a call hands one message to the actor's
//! handler, with the actor's own context, and returns its answer.
//!
//! The kernel decides when every message is handled (its virtual instant,
//! its place in the queue) and waits for each answer before going on. A
//! mailbox would then only add work, never order: actix's `Addr::send`
//! boxes each message in an envelope, opens a oneshot channel for the
//! answer and queues the envelope, and the actor's context future has to
//! be polled to take it out again. Half a million calls in a
//! 100,000-report run made that 5-8% of its wall time
//! (docs/performance.md). [`Driven`] skips that plumbing, not the actor:
//! the server and the shards are actix actors (`Actor`, `Handler`,
//! `Message`, a `Context`), started with `Actor::started`, and the same
//! handlers answer the same way when the actor runs on an actix `System`
//! (the test below checks both).
//!
//! A call is then an ordinary function call, and the kernel's loop an
//! ordinary loop: no runtime, and no `async` state machine around it.

use actix::{Actor, Context, Handler, Message, MessageResult};

/// An actor and its context, handled whenever the kernel calls it.
///
/// ```
/// use actix::{Actor, Context, Handler, Message, MessageResult};
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
///     type Result = MessageResult<Double>;
///     fn handle(&mut self, Double(x): Double, _: &mut Context<Self>) -> Self::Result {
///         MessageResult(2 * x)
///     }
/// }
///
/// let mut doubler = Driven::new(Doubler);
/// assert_eq!(doubler.call(Double(21)), 42);
/// ```
pub struct Driven<A: Actor<Context = Context<A>>> {
    actor: A,
    /// The actor's context. The kernel never runs it as a future: nothing
    /// waits in its mailbox, since every message is handled as it is sent.
    ctx: Context<A>,
}

impl<A: Actor<Context = Context<A>>> Driven<A> {
    /// Takes `actor` and starts it (`Actor::started`), as actix does when
    /// an actor is spawned.
    pub fn new(mut actor: A) -> Self {
        let mut ctx = Context::new();
        actor.started(&mut ctx);
        Driven { actor, ctx }
    }

    /// Has the actor handle `msg` now, and returns its answer.
    ///
    /// The handler answers with a value (`MessageResult`), as every handler
    /// of the server and the shards does: the type system rules out one
    /// that would answer later with a future, which the kernel could not
    /// wait for without a runtime.
    pub fn call<M>(&mut self, msg: M) -> M::Result
    where
        A: Handler<M, Result = MessageResult<M>>,
        M: Message,
    {
        let MessageResult(answer) = self.actor.handle(msg, &mut self.ctx);
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts what it is told, and says how many it has heard.
    #[derive(Default)]
    struct Counter {
        heard: u32,
        started: bool,
    }

    impl Actor for Counter {
        type Context = Context<Self>;

        fn started(&mut self, _: &mut Context<Self>) {
            self.started = true;
        }
    }

    struct Tell(u32);

    impl Message for Tell {
        type Result = (u32, u32, bool);
    }

    impl Handler<Tell> for Counter {
        type Result = MessageResult<Tell>;
        fn handle(&mut self, Tell(x): Tell, _: &mut Context<Self>) -> Self::Result {
            self.heard += 1;
            MessageResult((x, self.heard, self.started))
        }
    }

    /// Every call is answered in place, with no runtime at all, in order,
    /// by a started actor.
    #[test]
    fn a_call_is_answered_in_place_and_in_order() {
        let mut counter = Driven::new(Counter::default());
        for i in 1..=100 {
            assert_eq!(counter.call(Tell(i * 7)), (i * 7, i, true));
        }
    }

    /// The same actor spawned on an actix system, sent the same messages
    /// through its mailbox, gives the same answers: driving it changes who
    /// delivers, not what the actor does.
    #[test]
    fn a_driven_actor_answers_as_the_same_actor_on_an_actix_system() {
        let mut driven = Driven::new(Counter::default());
        let direct: Vec<_> = (1..=20).map(|i| driven.call(Tell(i))).collect();
        let mailed = actix::System::new().block_on(async {
            let addr = Counter::default().start();
            let mut answers = Vec::new();
            for i in 1..=20 {
                answers.push(addr.send(Tell(i)).await.expect("the actor is running"));
            }
            answers
        });
        assert_eq!(direct, mailed);
    }
}
