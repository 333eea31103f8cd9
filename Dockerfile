# The image the Kubernetes Job of `fedsim sweep --emit k8s` names
# (fedsim:<version>); see docs/cluster.md.
#
#   docker build --build-arg FEDSIM_GIT_COMMIT=$(git rev-parse HEAD) -t fedsim:0.1.0 .
#
# The build context has no .git (see .dockerignore), so the commit each
# run's summary.json records comes from the build argument (build.rs reads
# FEDSIM_GIT_COMMIT; without it, "unknown").

# Build: the release binary, from the locked dependencies. The toolchain is
# the crate's rust-version (Cargo.toml).
FROM rust:1.90-slim-bookworm AS build
WORKDIR /src
COPY . .
ARG FEDSIM_GIT_COMMIT=unknown
ENV FEDSIM_GIT_COMMIT=${FEDSIM_GIT_COMMIT}
RUN cargo build --release --locked --bin fedsim \
    && cp target/release/fedsim /usr/local/bin/fedsim \
    && rm -rf target

# Run: the binary alone on a slim Debian of the same release (it needs
# only glibc and libgcc_s), as an unprivileged user whose ids the emitted
# manifests name (runAsUser/fsGroup 10001).
FROM debian:bookworm-slim
COPY --from=build /usr/local/bin/fedsim /usr/local/bin/fedsim
RUN groupadd --gid 10001 fedsim && useradd --uid 10001 --gid 10001 --create-home fedsim \
    && mkdir /runs && chown fedsim:fedsim /runs
USER fedsim
WORKDIR /runs
ENTRYPOINT ["fedsim"]
CMD ["--help"]
