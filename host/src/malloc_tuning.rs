//! Two glibc malloc settings that keep the daemon's peak resident set bounded (a no-op on other
//! allocators and platforms). Owns these settings only, not the memory caps (`plugin::limits`).
//!
//! - **Arenas.** glibc gives busy threads arenas of their own (up to 8 per core); memory freed
//!   in one arena is not reused by another, so when several plugin runs lift and decode large
//!   outputs on different threads, the freed pages of each add up in the peak. Two arenas.
//! - **Large blocks from `mmap`, always.** glibc raises its mmap threshold each time a large
//!   block is freed (up to 32 MiB), after which large transient buffers (a lifted 16 MiB blob,
//!   a decoded bomb page) come from the heap and stay resident once freed. A fixed 4 MiB
//!   threshold keeps them on `mmap`, returned to the system on free; ordinary vendor pages
//!   (about 1.5 MB) stay below it.
//!
//! Measured with eleven hostile connectors at once (`host/tests/all/sandbox_daemon.rs`): peak RSS
//! 216–269 MB with glibc's defaults, 173–191 MB with these (docs/performance.md).

/// Arenas the process keeps.
const ARENAS: i32 = 2;
/// Blocks of at least this size are mapped on their own.
const MMAP_THRESHOLD: i32 = 4 << 20;

/// Applies both settings, each unless the operator chose it with glibc's own variable
/// (`MALLOC_ARENA_MAX`, `MALLOC_MMAP_THRESHOLD_`), which this must not override. Call first
/// thing in `main`, before other threads start.
pub fn apply() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let unset = |name: &str| std::env::var_os(name).is_none();
        // SAFETY: mallopt only tunes the allocator; called once, before other threads run.
        unsafe {
            if unset("MALLOC_ARENA_MAX") {
                libc::mallopt(libc::M_ARENA_MAX, ARENAS);
            }
            if unset("MALLOC_MMAP_THRESHOLD_") {
                libc::mallopt(libc::M_MMAP_THRESHOLD, MMAP_THRESHOLD);
            }
        }
    }
}
