# Thin aliases of plain cargo commands: nobody needs `just` to work on boxoffice.

# Build the host and the bundled plugins (wasm32-wasip2, via host/build.rs).
build:
    cargo build --release

# The whole test suite (what CI runs).
test:
    cargo test --release --workspace

# The demo: simulators + bundled plugins + SQLite warehouse + /metrics, no credentials.
demo:
    cargo run --release -- demo

# The Python pretix connector: its native tests and target/plugins/pretix-py.wasm.
pretix-py:
    plugins/pretix-py/build.sh

# Benchmarks (writes target/bench/): `boxoffice bench` execs the separate binary boxoffice-bench
# (the crate bench/), so both are built.
bench *ARGS:
    cargo build --release -p boxoffice -p boxoffice-bench && target/release/boxoffice bench {{ARGS}}

# Criterion micro-benchmarks: plugin transforms (WASM and native) and page writes.
microbench:
    cargo bench -p boxoffice-bench --bench transform --bench ledger

# Formatting and clippy, as CI runs them.
lint:
    cargo fmt --all --check
    cargo clippy --release --workspace --all-targets -- -D warnings
