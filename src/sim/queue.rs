//! The pending-event queue: messages waiting for their virtual instant.
//!
//! Events are ordered by `(time, sequence)`, the sequence being the order in
//! which they were scheduled, so ties are broken the same way on every run.
//! A task's messages can be cancelled as a whole (a sync round closing on a
//! straggler): they are then discarded when they reach the head.

use super::time::VirtualTime;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// Identifies one task of one client: its messages die together when the
/// task is cancelled. Serials of a client grow with each task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TaskTag {
    pub client: u32,
    pub serial: u32,
}

/// A heap entry: the ordering key and where the item waits. Items stay put
/// in a slab while the heap moves these 24-byte keys around.
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Key {
    at: VirtualTime,
    seq: u64,
    slot: u32,
}

impl PartialEq for Key {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    /// The earlier first.
    fn cmp(&self, other: &Self) -> Ordering {
        self.rank().cmp(&other.rank())
    }
}

impl Key {
    /// Time, then sequence, as one number: compared without a branch.
    #[inline]
    fn rank(&self) -> u128 {
        (u128::from(self.at.as_nanos()) << 64) | u128::from(self.seq)
    }
}

/// A min-heap of keys with four children a node (a 4-ary heap).
///
/// Every instant of an async run pops and pushes here. A pop walks down
/// half as many levels as in a binary heap, and a full node's least child
/// is chosen without branches: which child wins is as unpredictable as the
/// drawn latencies, so branches would be mispredicted half the time. (The
/// same heap choosing with branches was no faster than std's binary heap;
/// this one took 4% off the throughput run, docs/performance.md.)
#[derive(Debug, Default)]
struct QuadHeap {
    keys: Vec<Key>,
}

impl QuadHeap {
    fn len(&self) -> usize {
        self.keys.len()
    }

    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn peek(&self) -> Option<&Key> {
        self.keys.first()
    }

    fn push(&mut self, key: Key) {
        let mut hole = self.keys.len();
        self.keys.push(key);
        while hole > 0 {
            let parent = (hole - 1) / 4;
            if self.keys[parent] <= key {
                break;
            }
            self.keys[hole] = self.keys[parent];
            hole = parent;
        }
        self.keys[hole] = key;
    }

    fn pop(&mut self) -> Option<Key> {
        let last = self.keys.pop()?;
        let Some(&top) = self.keys.first() else { return Some(last) };
        // Walk the hole down from the root along the smallest children
        // until `last` fits above them.
        let n = self.keys.len();
        let mut hole = 0;
        loop {
            let first = 4 * hole + 1;
            if first >= n {
                break;
            }
            let min = if first + 4 <= n {
                // A full node: a branch-free tournament.
                let k = &self.keys;
                let a = first + usize::from(k[first + 1].rank() < k[first].rank());
                let b = first + 2 + usize::from(k[first + 3].rank() < k[first + 2].rank());
                if k[b].rank() < k[a].rank() {
                    b
                } else {
                    a
                }
            } else {
                (first + 1..n).fold(first, |m, c| if self.keys[c] < self.keys[m] { c } else { m })
            };
            if last <= self.keys[min] {
                break;
            }
            self.keys[hole] = self.keys[min];
            hole = min;
        }
        self.keys[hole] = last;
        Some(top)
    }
}

// A checkpoint holds the keys as a list, in the heap's order. Read back,
// they are put in heap order again, so a list in any order (a binary
// heap's, from a checkpoint written before this heap) loads; a list
// already in this heap's order comes back as it was.
impl Serialize for QuadHeap {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.keys.serialize(s)
    }
}

impl<'de> Deserialize<'de> for QuadHeap {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut heap = QuadHeap::default();
        for key in Vec::<Key>::deserialize(d)? {
            heap.push(key);
        }
        Ok(heap)
    }
}

/// Where a queued item waits (valid until it is popped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handle {
    slot: u32,
    seq: u64,
}

impl Handle {
    /// The item's slot: below the most items ever waiting at once, and
    /// reused once it is popped (so side tables can be plain vectors).
    pub fn slot(self) -> usize {
        self.slot as usize
    }

    /// The item's sequence number: unique for the run.
    pub fn seq(self) -> u64 {
        self.seq
    }
}

#[derive(Serialize, Deserialize)]
struct Slot<T> {
    seq: u64,
    at: VirtualTime,
    tag: Option<TaskTag>,
    item: T,
}

/// A deterministic priority queue of timed items.
///
/// ```
/// use fedsim::sim::{EventQueue, VirtualTime};
/// let mut q = EventQueue::new(0);
/// q.push(VirtualTime::from_nanos(5), None, "b");
/// q.push(VirtualTime::from_nanos(1), None, "a");
/// q.push(VirtualTime::from_nanos(5), None, "c");
/// let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, x)| x)).collect();
/// assert_eq!(order, ["a", "b", "c"]);
/// ```
#[derive(Serialize, Deserialize)]
#[serde(bound(serialize = "T: Serialize", deserialize = "T: Deserialize<'de>"))]
pub struct EventQueue<T> {
    heap: QuadHeap,
    /// Items queued for the instant of the last pop, in sequence order.
    /// Their sequence numbers exceed every other item's, so they come
    /// after the heap's items of that instant and before any later one: a
    /// FIFO keeps them in order without the heap's log-time moves (most
    /// items of an instant-network run are due at the instant they are
    /// queued).
    now_fifo: std::collections::VecDeque<Key>,
    /// The instant of the last item popped (a discarded cancelled one does
    /// not count).
    now: VirtualTime,
    /// Waiting items by slot, with their sequence number, instant and
    /// task; `None` marks a free slot.
    slab: Vec<Option<Slot<T>>>,
    free: Vec<u32>,
    seq: u64,
    /// Per client, the highest cancelled task serial (0: none).
    cancelled: Vec<u32>,
    /// Handles of cancelled items discarded since the last
    /// [`EventQueue::take_discarded`].
    #[serde(skip)]
    discarded: Vec<Handle>,
}

impl<T> EventQueue<T> {
    /// A queue for `clients` clients (for task cancellation).
    pub fn new(clients: usize) -> Self {
        EventQueue {
            heap: QuadHeap::default(),
            now_fifo: Default::default(),
            now: VirtualTime::ZERO,
            slab: Vec::new(),
            free: Vec::new(),
            seq: 0,
            cancelled: vec![0; clients],
            discarded: Vec::new(),
        }
    }

    /// Queues `item` for instant `at`; the handle finds it again while it waits.
    pub fn push(&mut self, at: VirtualTime, tag: Option<TaskTag>, item: T) -> Handle {
        self.seq += 1;
        let entry = Slot { seq: self.seq, at, tag, item };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slab[slot as usize] = Some(entry);
                slot
            }
            None => {
                self.slab.push(Some(entry));
                (self.slab.len() - 1) as u32
            }
        };
        let key = Key { at, seq: self.seq, slot };
        if at == self.now {
            self.now_fifo.push_back(key);
        } else {
            self.heap.push(key);
        }
        Handle { slot, seq: self.seq }
    }

    /// A waiting, live item by its handle: its instant and the item
    /// (`None` once popped or cancelled).
    pub fn get(&self, h: Handle) -> Option<(VirtualTime, &T)> {
        let s = self.slab.get(h.slot as usize)?.as_ref()?;
        (s.seq == h.seq && self.live_slot(s)).then_some((s.at, &s.item))
    }

    /// Handles of every live item, in no particular order.
    pub fn handles(&self) -> Vec<Handle> {
        self.slab
            .iter()
            .enumerate()
            .filter_map(|(i, s)| {
                s.as_ref().filter(|s| self.live_slot(s)).map(|s| Handle { slot: i as u32, seq: s.seq })
            })
            .collect()
    }

    /// Cancels this task and every earlier one of the same client.
    pub fn cancel(&mut self, tag: TaskTag) {
        let c = &mut self.cancelled[tag.client as usize];
        *c = (*c).max(tag.serial);
    }

    pub fn is_cancelled(&self, tag: TaskTag) -> bool {
        tag.serial <= self.cancelled[tag.client as usize]
    }

    fn take(&mut self, slot: u32) -> Slot<T> {
        self.free.push(slot);
        self.slab[slot as usize].take().expect("a queued slot holds its item")
    }

    fn live_slot(&self, s: &Slot<T>) -> bool {
        !s.tag.is_some_and(|t| self.is_cancelled(t))
    }

    /// The earliest live item, skipping cancelled ones.
    pub fn pop(&mut self) -> Option<(VirtualTime, T)> {
        self.pop_entry().map(|(at, _, item)| (at, item))
    }

    /// The earliest live item with the handle it had.
    pub fn pop_entry(&mut self) -> Option<(VirtualTime, Handle, T)> {
        self.pop_if(|_, _| true)
    }

    /// The earliest live item with the handle it had, if `want` accepts
    /// it (else it stays); cancelled items met on the way are discarded.
    pub fn pop_if(&mut self, want: impl Fn(VirtualTime, &T) -> bool) -> Option<(VirtualTime, Handle, T)> {
        loop {
            // Both hold keys in (time, sequence) order: the earlier head first.
            let fifo_first = match (self.now_fifo.front(), self.heap.peek()) {
                (Some(f), Some(h)) => f < h,
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => return None,
            };
            let key = *if fifo_first { self.now_fifo.front() } else { self.heap.peek() }.expect("a head");
            let s = self.slab[key.slot as usize].as_ref().expect("a queued slot holds its item");
            let live = self.live_slot(s);
            if live && !want(key.at, &s.item) {
                return None;
            }
            if fifo_first {
                self.now_fifo.pop_front();
            } else {
                self.heap.pop();
            }
            let s = self.take(key.slot);
            let h = Handle { slot: key.slot, seq: s.seq };
            if !live {
                // A discarded item does not move the queue's instant: the
                // caller may still push items before it, and those due at
                // the caller's instant must go to the FIFO, not the ones
                // due at this later one.
                self.discarded.push(h);
                continue;
            }
            self.now = key.at;
            return Some((key.at, h, s.item));
        }
    }

    /// The handles of cancelled items discarded so far (and forgets them).
    pub fn take_discarded(&mut self) -> Vec<Handle> {
        std::mem::take(&mut self.discarded)
    }

    /// Pending items, cancelled ones included.
    pub fn len(&self) -> usize {
        self.heap.len() + self.now_fifo.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty() && self.now_fifo.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancelled_tasks_vanish_and_others_stay_in_order() {
        let mut q = EventQueue::new(2);
        let t = VirtualTime::from_nanos;
        let a1 = TaskTag { client: 0, serial: 1 };
        let a2 = TaskTag { client: 0, serial: 2 };
        q.push(t(3), Some(a1), "a1-late");
        q.push(t(4), Some(a2), "a2");
        q.push(t(2), Some(TaskTag { client: 1, serial: 1 }), "b1");
        q.push(t(2), None, "server");
        q.cancel(a1);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, x)| x)).collect();
        assert_eq!(order, ["b1", "server", "a2"]);
    }

    /// Items due now and later wait in two places; the queue is empty only
    /// when both are, and counts the items of both.
    #[test]
    fn the_queue_is_empty_only_when_nothing_waits_now_or_later() {
        let mut q = EventQueue::new(1);
        let t = VirtualTime::from_nanos;
        assert_eq!((q.is_empty(), q.len()), (true, 0));
        q.push(t(5), None, "later");
        assert_eq!((q.is_empty(), q.len()), (false, 1));
        q.pop();
        q.push(t(5), None, "now");
        q.push(t(9), None, "later");
        assert_eq!((q.is_empty(), q.len()), (false, 2));
        q.pop();
        assert_eq!((q.is_empty(), q.len()), (false, 1));
        q.pop();
        assert_eq!((q.is_empty(), q.len()), (true, 0));
    }

    /// Equality agrees with the order: the slot (where the item waits)
    /// takes no part in either.
    #[test]
    fn keys_are_equal_exactly_when_they_order_equal() {
        let key = |ns, seq, slot| Key { at: VirtualTime::from_nanos(ns), seq, slot };
        let keys = [key(5, 1, 0), key(5, 1, 7), key(5, 2, 0), key(6, 1, 0)];
        for a in keys {
            for b in keys {
                assert_eq!(a == b, a.cmp(&b) == Ordering::Equal, "{a:?} and {b:?}");
            }
        }
        assert!(key(5, 1, 0) == key(5, 1, 7));
        assert!(key(5, 1, 0) != key(5, 2, 0));
    }

    fn key(ns: u64, seq: u64) -> Key {
        Key { at: VirtualTime::from_nanos(ns), seq, slot: seq as u32 }
    }

    proptest::proptest! {
        /// The 4-ary heap gives its keys back in (time, sequence) order,
        /// whatever the mix of pushes and pops (full and partial nodes,
        /// equal times).
        #[test]
        fn the_quad_heap_pops_in_key_order(ops in proptest::collection::vec((0u64..6, proptest::bool::ANY), 1..300)) {
            let mut heap = QuadHeap::default();
            let mut model: Vec<Key> = Vec::new();
            for (seq, (ns, push)) in ops.into_iter().enumerate() {
                if push || model.is_empty() {
                    heap.push(key(ns, seq as u64));
                    model.push(key(ns, seq as u64));
                } else {
                    model.sort();
                    let want = model.remove(0);
                    let got = heap.pop().expect("as many keys as the model");
                    proptest::prop_assert_eq!((got.at, got.seq, got.slot), (want.at, want.seq, want.slot));
                }
                proptest::prop_assert_eq!(heap.len(), model.len());
            }
        }

        /// Keys read back from a checkpoint in any order (a binary heap's,
        /// say) form a heap again; keys already in this heap's order come
        /// back exactly as they were.
        #[test]
        fn a_checkpointed_heap_reads_back_in_order(times in proptest::collection::vec(0u64..1000, 0..100)) {
            let keys: Vec<Key> = times.iter().enumerate().map(|(i, &t)| key(t, i as u64)).collect();
            let mut heap: QuadHeap = serde_json::from_str(&serde_json::to_string(&keys).unwrap()).unwrap();
            let again: QuadHeap = serde_json::from_str(&serde_json::to_string(&heap).unwrap()).unwrap();
            let ranks = |h: &QuadHeap| h.keys.iter().map(Key::rank).collect::<Vec<_>>();
            proptest::prop_assert_eq!(ranks(&again), ranks(&heap));
            let mut sorted = keys.clone();
            sorted.sort();
            let popped: Vec<u128> = std::iter::from_fn(|| heap.pop()).map(|k| k.rank()).collect();
            proptest::prop_assert_eq!(popped, sorted.iter().map(Key::rank).collect::<Vec<_>>());
        }
    }

    proptest::proptest! {
        /// Whatever mix of pushes (at the current instant or later, close
        /// or far apart), pops, refused pops and cancellations, items leave
        /// in (time, push order), as from a sorted list, cancelled ones
        /// never.
        #[test]
        fn pops_follow_time_then_push_order(
            ops in proptest::collection::vec((proptest::prop_oneof![0u64..4, 0u64..1 << 50], 0u8..4, 0u32..3), 1..200)
        ) {
            let mut q = EventQueue::new(3);
            // (time, item, tag) of every waiting item, cancelled included.
            let mut model: Vec<(u64, usize, TaskTag)> = Vec::new();
            let mut serials = [0u32; 3];
            let mut now = 0;
            for (i, (dt, op, client)) in ops.into_iter().enumerate() {
                match op {
                    0 => {
                        serials[client as usize] += 1;
                        let tag = TaskTag { client, serial: serials[client as usize] };
                        q.push(VirtualTime::from_nanos(now + dt), Some(tag), i);
                        model.push((now + dt, i, tag));
                    }
                    3 => q.cancel(TaskTag { client, serial: serials[client as usize] / 2 }),
                    _ => {
                        // 1: pop; 2: pop only an odd item at the head.
                        // Cancelled items met first are discarded either way.
                        model.sort();
                        while model.first().is_some_and(|&(_, _, tag)| q.is_cancelled(tag)) {
                            model.remove(0);
                        }
                        let expected = model.first().map(|&(t, x, _)| (t, x)).filter(|&(_, x)| op == 1 || x % 2 == 1);
                        if expected.is_some() {
                            model.remove(0);
                        }
                        let got = match op {
                            1 => q.pop().map(|(t, x): (VirtualTime, usize)| (t.as_nanos(), x)),
                            _ => q.pop_if(|_, x| x % 2 == 1).map(|(t, _, x)| (t.as_nanos(), x)),
                        };
                        proptest::prop_assert_eq!(got, expected);
                        if let Some((t, _)) = expected {
                            now = t;
                        }
                    }
                }
                proptest::prop_assert_eq!(q.len(), model.len());
            }
        }
    }
}
