//! The store-wide resource limiter: what all of one plugin instance's linear memories and
//! tables may take together, and how many instances, memories and tables it may create.
//!
//! Owns: counting bytes and elements across every memory and table of a store (wasmtime's
//! `StoreLimits` caps each one separately, so several memories or tables each under the cap add
//! up without bound) and the typed error a refusal traps with. It does not own the numbers
//! (`limits`) or how a trap is reported (`instance`).

use thiserror::Error;
use wasmtime::ResourceLimiter;

use super::limits::StoreCaps;

/// Which store cap a guest ran into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreCap {
    /// Bytes of all linear memories together.
    MemoryBytes,
    /// Elements of all tables together.
    TableElements,
}

/// The error a refused growth traps with; `instance::classify` finds it in the trap's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{} cap of the store reached: {requested} requested in all, the cap is {cap}", match .kind {
    StoreCap::MemoryBytes => "memory (bytes of all linear memories)",
    StoreCap::TableElements => "table (elements of all tables)",
})]
pub struct StoreCapExceeded {
    pub kind: StoreCap,
    pub requested: usize,
    pub cap: usize,
}

/// Counts what a store holds; one per store.
#[derive(Debug)]
pub struct StoreLimiter {
    caps: StoreCaps,
    memory_cap: usize,
    memory_bytes: usize,
    table_elements: usize,
}

impl StoreLimiter {
    pub fn new(memory_cap: usize, caps: StoreCaps) -> Self {
        Self {
            caps,
            memory_cap,
            memory_bytes: 0,
            table_elements: 0,
        }
    }

    /// Bytes of all linear memories the store has been granted so far.
    pub fn memory_bytes(&self) -> usize {
        self.memory_bytes
    }
}

/// Adds a growth from `current` to `desired` to `total` unless that passes `cap`. A growth past
/// the memory's or table's own declared maximum is not ours to refuse: it fails the way the
/// guest expects (`memory.grow` returns -1), and is not counted.
fn grow(
    total: &mut usize,
    cap: usize,
    kind: StoreCap,
    current: usize,
    desired: usize,
    maximum: Option<usize>,
) -> wasmtime::Result<bool> {
    if maximum.is_some_and(|m| desired > m) {
        return Ok(false);
    }
    let requested = total.saturating_add(desired.saturating_sub(current));
    if requested > cap {
        return Err(wasmtime::Error::new(StoreCapExceeded {
            kind,
            requested,
            cap,
        }));
    }
    *total = requested;
    Ok(true)
}

impl ResourceLimiter for StoreLimiter {
    // Called for every new memory too (with `current` 0), so the total covers declared sizes.
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        grow(
            &mut self.memory_bytes,
            self.memory_cap,
            StoreCap::MemoryBytes,
            current,
            desired,
            maximum,
        )
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        grow(
            &mut self.table_elements,
            self.caps.max_table_elements,
            StoreCap::TableElements,
            current,
            desired,
            maximum,
        )
    }

    // Wasmtime itself refuses an instantiation past these counts ("<kind> count too high").
    fn instances(&self) -> usize {
        self.caps.max_instances
    }

    fn memories(&self) -> usize {
        self.caps.max_memories
    }

    fn tables(&self) -> usize {
        self.caps.max_tables
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter() -> StoreLimiter {
        StoreLimiter::new(
            100,
            StoreCaps {
                max_table_elements: 10,
                ..StoreCaps::default()
            },
        )
    }

    #[test]
    fn memories_count_together_against_one_cap() {
        let mut l = limiter();
        assert!(l.memory_growing(0, 60, None).unwrap());
        // A second memory, each under the cap on its own: together they pass it.
        let err = l.memory_growing(0, 60, None).unwrap_err();
        let cap = err.downcast_ref::<StoreCapExceeded>().unwrap();
        assert_eq!(
            (cap.kind, cap.requested, cap.cap),
            (StoreCap::MemoryBytes, 120, 100)
        );
        assert_eq!(l.memory_bytes(), 60, "a refused growth is not counted");
        // Growth counts the difference only.
        assert!(l.memory_growing(60, 100, None).unwrap());
        assert!(l.memory_growing(100, 101, None).is_err());
    }

    #[test]
    fn growth_past_a_memorys_own_maximum_fails_without_counting() {
        let mut l = limiter();
        assert!(!l.memory_growing(0, 50, Some(40)).unwrap());
        assert_eq!(l.memory_bytes(), 0);
    }

    #[test]
    fn tables_count_elements_together() {
        let mut l = limiter();
        assert!(l.table_growing(0, 6, None).unwrap());
        let err = l.table_growing(2, 8, None).unwrap_err();
        assert_eq!(
            err.downcast_ref::<StoreCapExceeded>().unwrap().kind,
            StoreCap::TableElements
        );
        assert!(l.table_growing(0, 4, None).unwrap());
    }
}
