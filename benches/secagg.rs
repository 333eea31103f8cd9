//! Masking cost of one client: `ClientState::masked_input` with 20 peers, i.e. 20 pairwise masks
//! plus the self mask. Throughput is reported per parameter per peer (`dim × 20` elements); the
//! `dim = 1` case isolates the per-peer fixed cost (share decryption, x25519, KDF).

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use fedsim::privacy::secagg::{advertise, Config, Server};

const PEERS: u32 = 20;

fn masking(c: &mut Criterion) {
    let mut group = c.benchmark_group("masking per parameter");
    group.sample_size(20);
    for dim in [1usize, 10_000] {
        let cfg = Config { threshold: 11, dim };
        let mut server = Server::new(cfg).unwrap();
        let (mut clients, keys): (Vec<_>, Vec<_>) = (0..=PEERS).map(|id| advertise(id, &cfg, [id as u8; 32])).unzip();
        keys.into_iter().for_each(|k| server.receive_keys(k).unwrap());
        let roster = server.close_keys().unwrap();
        clients.iter_mut().for_each(|c| server.receive_shares(c.share_keys(&roster).unwrap()).unwrap());
        server.close_shares().unwrap();
        let bundle = server.forward(0).unwrap();
        let input: Vec<u64> = (0..dim as u64).collect();
        group.throughput(Throughput::Elements(dim as u64 * u64::from(PEERS)));
        group.bench_function(format!("dim={dim}"), |b| {
            b.iter_batched(
                || clients[0].clone(),
                |mut client| client.masked_input(&bundle, &input).unwrap(),
                BatchSize::SmallInput,
            )
        });
    }
    group.finish();
}

criterion_group!(benches, masking);
criterion_main!(benches);
