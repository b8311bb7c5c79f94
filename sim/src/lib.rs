//! Vendor API simulators: Shotgun and QTickets, faithful to `shared/vendors/*.md`.
//!
//! Owns: serving the vendors' HTTP shapes on loopback, deterministic from a seed, scalable to
//! millions of tickets without holding responses in memory, changing tickets over simulated
//! time, and reporting ground truth for tests. Every personal field carries the canaries in
//! [`canary`]. It does not own anything of the host: tests, the demo and benchmarks use it as
//! an external vendor.

pub mod canary;
pub mod faults;
pub mod optional_fields;
pub mod qtickets;
pub mod server;
pub mod shotgun;

pub use server::SimServer;
