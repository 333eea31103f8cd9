//! The network: links that messages travel, devices, dropout and
//! availability.
//!
//! Every message between the server and a client is sent through
//! [`Network::send`]. Its arrival is the sender's and receiver's latency
//! (drawn per message) plus its transfer time: at the client's own rate, or,
//! when the scenario gives the server a limited link, at its max-min fair
//! share of that link ([`SharedLink`]), recomputed whenever a transfer on it
//! starts or ends. The network does not schedule anything: the kernel puts
//! its answers on the virtual clock.
//!
//! Every draw comes from a stream of (seed, purpose, client, task serial):
//! purposes `net` (the client's latencies: the download's, then the
//! upload's), `net.server` (the server link's), `compute` (jitter) and
//! `dropout`. Nothing here has state that depends on history except the
//! transfers in flight, which [`NetState`] saves.

pub mod availability;
pub mod delay;
pub mod device;
pub mod fault;
pub mod link;

pub use availability::{AvailabilityError, AvailabilityModel};
pub use delay::DelaySampler;
pub use device::{place_profiles, Device};
pub use fault::Faults;
pub use link::{SharedLink, TransferId};

use crate::sim::{SeedTree, TaskTag, VirtualTime};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Which way a task's message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Leg {
    /// Server to client: the model (the server's uplink, the client's downlink).
    Down,
    /// Client to server: the update (the client's uplink, the server's downlink).
    Up,
}

/// The server's own link, as the scenario gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerLink {
    /// bit/s; infinite: unlimited.
    pub up_bps: f64,
    pub down_bps: f64,
    pub latency: DelaySampler,
}

impl ServerLink {
    /// No limit and no latency: the spec's closed form holds unchanged.
    pub fn unlimited() -> Self {
        ServerLink {
            up_bps: f64::INFINITY,
            down_bps: f64::INFINITY,
            latency: DelaySampler::new(crate::scenario::Delay::Constant { ms: 0.0 }),
        }
    }
}

/// The random parts of one task, drawn from its own streams.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct TaskDraws {
    /// The client's one-way latency of the download and of the upload, s.
    pub latency_s: [f64; 2],
    /// The server link's latency of each, s.
    pub server_latency_s: [f64; 2],
    /// Extra compute time, s.
    pub jitter_s: f64,
    /// `Some(u)`: the client vanishes at `start + u * nominal task`.
    pub drop_u: Option<f64>,
}

impl TaskDraws {
    /// A leg's whole latency (the client's plus the server link's), s.
    pub fn leg_latency_s(&self, leg: Leg) -> f64 {
        let i = leg as usize;
        self.latency_s[i] + self.server_latency_s[i]
    }
}

/// Where a sent message is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// It arrives at this instant.
    At(VirtualTime),
    /// It is sharing the server's link; [`Network::finish_until`] says when
    /// it is through.
    Queued,
}

/// What of the network changes as a run goes: the transfers on the
/// server's link. A checkpoint saves it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct NetState {
    up: Option<SharedLink>,
    down: Option<SharedLink>,
    /// Per queued transfer: the latency its message pays once through, s.
    latency_s: BTreeMap<TransferId, f64>,
}

/// The federation's links and devices.
#[derive(Debug, Clone)]
pub struct Network {
    devices: Vec<Device>,
    /// Per client: its index in `devices`.
    placement: Arc<[u16]>,
    server: ServerLink,
    state: NetState,
    dropout: f64,
    net: SeedTree,
    net_server: SeedTree,
    compute: SeedTree,
    dropping: SeedTree,
    faults: Arc<Faults>,
    /// A task's download and upload bytes and its local epochs: only to say
    /// which part of a task is the longest ([`Network::longest_part`]).
    shape: ([u64; 2], f64),
}

fn transfer_id(tag: TaskTag) -> TransferId {
    ((tag.client as u64) << 32) | tag.serial as u64
}

fn tag_of(id: TransferId) -> TaskTag {
    TaskTag { client: (id >> 32) as u32, serial: id as u32 }
}

impl Network {
    /// `seeds` is the run's root; `dropout` the per-task probability.
    pub fn new(devices: Vec<Device>, placement: Arc<[u16]>, server: ServerLink, dropout: f64, seeds: SeedTree) -> Self {
        let limited = |bps: f64| bps.is_finite().then(|| SharedLink::new(bps));
        let state = NetState { up: limited(server.up_bps), down: limited(server.down_bps), latency_s: BTreeMap::new() };
        Network {
            devices,
            placement,
            server,
            state,
            dropout,
            net: seeds.child("net"),
            net_server: seeds.child("net.server"),
            compute: seeds.child("compute"),
            dropping: seeds.child("dropout"),
            faults: Arc::new(Faults::default()),
            shape: ([0, 0], 1.0),
        }
    }

    /// The run's scheduled faults (none by default).
    pub fn with_faults(self, faults: Arc<Faults>) -> Self {
        Network { faults, ..self }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Sets a task's bytes each way and its local epochs, for
    /// [`Network::longest_part`].
    pub fn set_task_shape(&mut self, bytes: [u64; 2], epochs: f64) {
        self.shape = (bytes, epochs);
    }

    /// The longest part of task `tag` (a client holding `samples` rows),
    /// as the scenario key that sets it and its length in seconds: what to
    /// blame when the task would take the clock past its end.
    pub fn longest_part(&self, tag: TaskTag, samples: u64) -> (String, f64) {
        let p = self.placement[tag.client as usize];
        let d = self.device(tag.client);
        let draws = self.draws(tag.client, tag.serial);
        let ([down, up], epochs) = self.shape;
        let bits = |bytes: u64, bps: f64| bytes as f64 * 8.0 / bps;
        let profile = |key: &str| format!("clients.profiles[{p}].{key}");
        let parts = [
            (profile("network.latency"), draws.latency_s[0].max(draws.latency_s[1])),
            ("server.network.latency".to_string(), draws.server_latency_s[0].max(draws.server_latency_s[1])),
            (profile("network.down_mbps"), bits(down, d.down_bps)),
            (profile("network.up_mbps"), bits(up, d.up_bps)),
            ("server.network.up_mbps".to_string(), bits(down, self.server.up_bps)),
            ("server.network.down_mbps".to_string(), bits(up, self.server.down_bps)),
            (profile("compute.samples_per_s"), d.compute_s(epochs * samples as f64, 0.0)),
            (profile("compute.jitter"), draws.jitter_s),
        ];
        parts.into_iter().max_by(|a, b| a.1.total_cmp(&b.1)).expect("a task has parts")
    }

    pub fn device(&self, client: u32) -> &Device {
        &self.devices[self.placement[client as usize] as usize]
    }

    /// The draws of task `serial` of `client`; the same on every call.
    /// The whole latency (the client's plus the server link's) of a
    /// task's extra message number `k` >= 1 on `leg`, s: drawn from its
    /// own stream, so every message of a protocol draws independently.
    pub fn message_latency_s(&self, tag: TaskTag, k: u64, leg: Leg) -> f64 {
        let d = self.device(tag.client);
        let at = |s: &SeedTree| s.index(tag.client as u64).index(tag.serial as u64).index(k).index(leg as u64).stream();
        d.latency.sample_s(&mut at(&self.net)) + self.server.latency.sample_s(&mut at(&self.net_server))
    }

    pub fn draws(&self, client: u32, serial: u32) -> TaskDraws {
        let d = self.device(client);
        let mut net = self.net.task(client, serial as u64);
        let latency_s = [d.latency.sample_s(&mut net), d.latency.sample_s(&mut net)];
        let mut sn = self.net_server.task(client, serial as u64);
        let server_latency_s = [self.server.latency.sample_s(&mut sn), self.server.latency.sample_s(&mut sn)];
        let jitter_s = d.jitter.map_or(0.0, |j| j.sample_s(&mut self.compute.task(client, serial as u64)));
        let drop_u = (self.dropout > 0.0)
            .then(|| {
                let mut r = self.dropping.task(client, serial as u64);
                (r.random::<f64>() < self.dropout).then(|| r.random::<f64>())
            })
            .flatten();
        TaskDraws { latency_s, server_latency_s, jitter_s, drop_u }
    }

    /// A leg's rates: the client's own, and the server link's.
    fn rates(&self, client: u32, leg: Leg) -> (f64, f64) {
        let d = self.device(client);
        match leg {
            Leg::Down => (d.down_bps, self.server.up_bps),
            Leg::Up => (d.up_bps, self.server.down_bps),
        }
    }

    /// A leg's duration on an idle server link, s: its latency plus
    /// `bytes * 8` at the slower of the two rates.
    pub fn leg_s(&self, tag: TaskTag, leg: Leg, bytes: u64, latency_s: f64) -> f64 {
        self.slowed_leg_s(tag, leg, bytes, latency_s, 1.0)
    }

    /// [`Network::leg_s`] with the client's bandwidth divided by `slowdown`
    /// (a slow link, `faults:`).
    fn slowed_leg_s(&self, tag: TaskTag, leg: Leg, bytes: u64, latency_s: f64, slowdown: f64) -> f64 {
        let (client_bps, server_bps) = self.rates(tag.client, leg);
        latency_s + bytes as f64 * 8.0 / (client_bps / slowdown).min(server_bps)
    }

    /// The shortest a task of `client` can take, s: every latency at its
    /// least, no jitter, an idle server link.
    pub fn fastest_task_s(&self, client: u32, bytes: [u64; 2], work_samples: f64) -> f64 {
        let d = self.device(client);
        let (down, up) = (self.rates(client, Leg::Down), self.rates(client, Leg::Up));
        2.0 * (d.latency.min_s() + self.server.latency.min_s())
            + bytes[0] as f64 * 8.0 / down.0.min(down.1)
            + bytes[1] as f64 * 8.0 / up.0.min(up.1)
            + d.compute_s(work_samples, 0.0)
    }

    /// When a task's client vanishes, if it does: `start + U * task`, with
    /// the task's length as the closed form gives it on an idle server link
    /// (the draws are the task's own, so this instant is fixed at dispatch
    /// whatever the contention later).
    pub fn drop_at(
        &self,
        start: VirtualTime,
        tag: TaskTag,
        bytes: [u64; 2],
        work_samples: f64,
        draws: &TaskDraws,
    ) -> Option<VirtualTime> {
        let u = draws.drop_u?;
        let task = self.leg_s(tag, Leg::Down, bytes[0], draws.leg_latency_s(Leg::Down))
            + self.device(tag.client).compute_s(work_samples, draws.jitter_s)
            + self.leg_s(tag, Leg::Up, bytes[1], draws.leg_latency_s(Leg::Up));
        Some(start.after(VirtualTime::from_secs_f64(u * task).as_nanos()))
    }

    fn link(&mut self, leg: Leg) -> Option<&mut SharedLink> {
        match leg {
            Leg::Down => self.state.up.as_mut(),
            Leg::Up => self.state.down.as_mut(),
        }
    }

    /// Sends a task's message of `bytes` over `leg` at `now`; `latency_s`
    /// is the leg's ([`TaskDraws::leg_latency_s`], drawn once at dispatch).
    /// A slow link (`faults:`) divides the client's bandwidth for the
    /// whole message.
    pub fn send(&mut self, now: VirtualTime, tag: TaskTag, leg: Leg, bytes: u64, latency_s: f64) -> Route {
        let slowdown = self.faults.slowdown(now, tag.client);
        if self.link(leg).is_none() {
            let s = self.slowed_leg_s(tag, leg, bytes, latency_s, slowdown);
            return Route::At(now.after(VirtualTime::from_secs_f64(s).as_nanos()));
        }
        let client_bps = self.rates(tag.client, leg).0 / slowdown;
        let id = transfer_id(tag);
        self.state.latency_s.insert(id, latency_s);
        let link = self.link(leg).expect("checked above");
        link.start(now, id, bytes as f64 * 8.0, client_bps);
        Route::Queued
    }

    /// Forgets a cancelled task's transfers.
    pub fn cancel(&mut self, now: VirtualTime, tag: TaskTag) {
        let id = transfer_id(tag);
        if self.state.latency_s.remove(&id).is_some() {
            for leg in [Leg::Down, Leg::Up] {
                if let Some(l) = self.link(leg) {
                    l.cancel(now, id);
                }
            }
        }
    }

    /// The next instant a transfer on the server's link is through.
    pub fn next_completion(&self) -> Option<VirtualTime> {
        [&self.state.up, &self.state.down].into_iter().flatten().filter_map(|l| l.next_completion()).min()
    }

    /// Transfers through by `now`, with the instant their message arrives
    /// (after its latency), uplink first.
    pub fn finish_until(&mut self, now: VirtualTime) -> Vec<(TaskTag, Leg, VirtualTime)> {
        let mut out = Vec::new();
        for leg in [Leg::Down, Leg::Up] {
            let done = self.link(leg).map(|l| l.finish_until(now)).unwrap_or_default();
            for id in done {
                let lat = self.state.latency_s.remove(&id).unwrap_or(0.0);
                out.push((tag_of(id), leg, now.after(VirtualTime::from_secs_f64(lat).as_nanos())));
            }
        }
        out
    }

    pub fn state(&self) -> &NetState {
        &self.state
    }

    pub fn restore(&mut self, state: NetState) {
        self.state = state;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Delay;

    fn phone() -> Device {
        Device {
            latency: DelaySampler::new(Delay::Constant { ms: 50.0 }),
            up_bps: 1e6,
            down_bps: 2e6,
            samples_per_s: 100.0,
            jitter: None,
        }
    }

    #[test]
    fn an_idle_link_gives_the_closed_form() {
        let mut n = Network::new(vec![phone()], vec![0; 2].into(), ServerLink::unlimited(), 0.0, SeedTree::new(1));
        let tag = TaskTag { client: 1, serial: 1 };
        // 0.05 s + 1000 B * 8 / 2 Mb/s = 0.054 s.
        let d = n.draws(1, 1).leg_latency_s(Leg::Down);
        assert_eq!(n.send(VirtualTime::ZERO, tag, Leg::Down, 1000, d), Route::At(VirtualTime::from_nanos(54_000_000)));
        assert_eq!(n.next_completion(), None);
    }

    #[test]
    fn a_limited_server_link_queues_and_adds_latency() {
        let server = ServerLink { up_bps: 1e6, ..ServerLink::unlimited() };
        let mut n = Network::new(vec![phone()], vec![0; 2].into(), server, 0.0, SeedTree::new(1));
        for c in 0..2 {
            let d = n.draws(c, 1).leg_latency_s(Leg::Down);
            assert_eq!(n.send(VirtualTime::ZERO, TaskTag { client: c, serial: 1 }, Leg::Down, 1000, d), Route::Queued);
        }
        // Two transfers of 8000 bits share 1 Mb/s: both through at 16 ms,
        // arriving 50 ms later.
        let t = n.next_completion().unwrap();
        assert_eq!(t, VirtualTime::from_nanos(16_000_000));
        let done = n.finish_until(t);
        assert_eq!(done.len(), 2);
        assert!(done.iter().all(|&(_, leg, at)| leg == Leg::Down && at == VirtualTime::from_nanos(66_000_000)));
    }

    #[test]
    fn draws_depend_on_client_and_serial_only() {
        let d = Device { jitter: Some(DelaySampler::new(Delay::Exponential { mean_ms: 10.0 })), ..phone() };
        let n = Network::new(vec![d], vec![0; 3].into(), ServerLink::unlimited(), 0.5, SeedTree::new(9));
        assert_eq!(n.draws(2, 5), n.draws(2, 5));
        assert_ne!(n.draws(2, 5).jitter_s, n.draws(2, 6).jitter_s);
        assert_ne!(n.draws(1, 5).jitter_s, n.draws(2, 5).jitter_s);
    }

    /// The dropout instant is `start + U * task`, with the task's three
    /// legs at their closed form: 0.054 s down, 10 samples at 100/s, and
    /// 0.05 + 4000 B * 8 / 1 Mb/s = 0.082 s up.
    #[test]
    fn a_dropout_falls_at_its_share_of_the_whole_task() {
        let n = Network::new(vec![phone()], vec![0; 1].into(), ServerLink::unlimited(), 0.0, SeedTree::new(1));
        let tag = TaskTag { client: 0, serial: 1 };
        let draws = TaskDraws { drop_u: Some(0.25), ..n.draws(0, 1) };
        let start = VirtualTime::from_secs_f64(2.0);
        let at = n.drop_at(start, tag, [1000, 4000], 10.0, &draws).unwrap();
        let task = 0.054 + 0.1 + 0.082;
        assert_eq!(at, VirtualTime::from_secs_f64(2.0 + 0.25 * task));
        assert_eq!(n.drop_at(start, tag, [1000, 4000], 10.0, &TaskDraws { drop_u: None, ..draws }), None);
    }

    #[test]
    fn dropout_rate_matches_probability() {
        let n = Network::new(vec![phone()], vec![0; 1].into(), ServerLink::unlimited(), 0.3, SeedTree::new(11));
        let total = 20_000u32;
        let drops = (1..=total).filter(|&s| n.draws(0, s).drop_u.is_some()).count();
        let sd = (total as f64 * 0.3 * 0.7).sqrt();
        assert!((drops as f64 - 0.3 * total as f64).abs() < 3.0 * sd, "{drops}");
    }

    /// A phone with a server link of its own: 10 ms, 4 Mb/s down to the
    /// clients, 0.5 Mb/s up from them.
    fn with_server_link() -> Network {
        let server =
            ServerLink { up_bps: 4e6, down_bps: 0.5e6, latency: DelaySampler::new(Delay::Constant { ms: 10.0 }) };
        Network::new(vec![phone()], vec![0; 2].into(), server, 0.0, SeedTree::new(1))
    }

    #[test]
    fn the_fastest_task_and_an_extra_message_are_the_closed_form() {
        let n = with_server_link();
        // Latency 2 x (0.05 + 0.01) s; 1000 B down at min(2, 4) Mb/s is
        // 0.004 s; 500 B up at min(1, 0.5) Mb/s is 0.008 s; 30 samples at
        // 100/s is 0.3 s.
        let want = 2.0 * 0.06 + 0.004 + 0.008 + 0.3;
        assert!(
            (n.fastest_task_s(1, [1000, 500], 30.0) - want).abs() < 1e-12,
            "{}",
            n.fastest_task_s(1, [1000, 500], 30.0)
        );
        let tag = TaskTag { client: 1, serial: 3 };
        for leg in [Leg::Down, Leg::Up] {
            assert!((n.message_latency_s(tag, 2, leg) - 0.06).abs() < 1e-12);
        }
        assert!((n.draws(1, 3).leg_latency_s(Leg::Up) - 0.06).abs() < 1e-12);
    }

    #[test]
    fn the_longest_part_of_a_task_names_its_key_and_length() {
        let mut n = with_server_link();
        let tag = TaskTag { client: 1, serial: 1 };
        n.set_task_shape([1000, 500], 2.0);
        // 2 epochs x 30 samples at 100/s: 0.6 s, the longest part.
        let (key, s) = n.longest_part(tag, 30);
        assert_eq!(key, "clients.profiles[0].compute.samples_per_s");
        assert!((s - 0.6).abs() < 1e-12, "{s}");
        // 100 kB up through the server's 0.5 Mb/s downlink: 1.6 s.
        n.set_task_shape([1000, 100_000], 2.0);
        let (key, s) = n.longest_part(tag, 30);
        assert_eq!(key, "server.network.down_mbps");
        assert!((s - 1.6).abs() < 1e-12, "{s}");
    }

    #[test]
    fn a_transfer_id_keeps_client_and_serial_apart() {
        for tag in [
            TaskTag { client: 0, serial: 0 },
            TaskTag { client: 7, serial: u32::MAX },
            TaskTag { client: u32::MAX, serial: 9 },
        ] {
            assert_eq!(tag_of(transfer_id(tag)), tag);
        }
        assert_eq!(transfer_id(TaskTag { client: 1, serial: 2 }), (1 << 32) + 2);
    }
}
