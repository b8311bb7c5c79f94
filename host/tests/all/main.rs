//! The host's integration tests, as one test binary (`cargo test --release -p boxoffice --test
//! all`): one module per topic, each the former `host/tests/<topic>.rs`, sharing `common` (the
//! pipeline harness, the PII scanner) and the data beside this directory (`host/tests/fixtures`,
//! `host/tests/wat`, `host/tests/fuzz_regressions`). One binary links wasmtime and the host
//! once instead of once per topic. Tests share the process: none changes its environment, its
//! working directory or a global subscriber; a test that needs another environment runs in a
//! child (`common::own_process`). Filter by module: `--test all shotgun_e2e::`.

mod common;

mod alert_rules;
mod backfill_metrics;
mod bench_quick;
mod canary_sweep;
mod cli;
mod clickhouse_cluster;
mod clickhouse_current;
mod clickhouse_rowbinary;
mod clickhouse_sink;
mod crash_kill;
mod daemon;
mod demo_victoria;
mod deploy;
mod fuzz;
mod grafana_dashboards;
mod grafana_provisioning;
mod incremental_kpis;
mod metrics_parity;
mod partial_failures;
mod pii_sweep;
mod plugin_containment;
mod plugin_replay_cli;
mod plugins_new;
mod pretix_e2e;
mod pretix_fixtures;
mod python_connector;
mod qtickets_canary;
mod qtickets_clickhouse;
mod qtickets_safety_net;
mod sandbox_caps;
mod sandbox_daemon;
mod sandbox_egress;
mod sandbox_labels;
mod sandbox_screening;
mod settings_manifest;
mod shotgun_e2e;
mod state_disk_full;
mod timezones;
mod typed_records;
mod vendor_faults;
mod vendor_skew;
mod warehouse_faults;
mod warehouse_views;
mod webhook_e2e;
mod webhook_ingest;
mod webhook_listener;
mod wit_window;
