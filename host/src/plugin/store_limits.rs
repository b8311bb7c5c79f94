//! The store-wide resource limiter: what all of one plugin instance's linear memories and
//! tables may take together, and how many instances, memories and tables it may create; and
//! the host-wide budget all instances' memories share.
//!
//! Owns: counting bytes and elements across every memory and table of a store (wasmtime's
//! `StoreLimits` caps each one separately, so several memories or tables each under the cap add
//! up without bound), the [`HostMemoryBudget`] (several runs at once, each under its store's
//! cap, must not add up past what the host can hold either) and the typed error a refusal
//! traps with. It does not own the numbers (`limits`) or how a trap is reported (`instance`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

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
    /// Bytes of every running instance's memories together (the host-wide budget).
    HostMemoryBytes,
}

/// The error a refused growth traps with; `instance::classify` finds it in the trap's chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("{} cap of the store reached: {requested} requested in all, the cap is {cap}", match .kind {
    StoreCap::MemoryBytes => "memory (bytes of all linear memories)",
    StoreCap::TableElements => "table (elements of all tables)",
    StoreCap::HostMemoryBytes => "host-wide plugin memory (all running instances)",
})]
pub struct StoreCapExceeded {
    pub kind: StoreCap,
    pub requested: usize,
    pub cap: usize,
}

/// Linear-memory bytes every live plugin store holds together, against one cap: shared by
/// the stores of one runtime, taken as memories grow, given back when a store is dropped.
#[derive(Debug)]
pub struct HostMemoryBudget {
    used: AtomicUsize,
    cap: usize,
}

impl HostMemoryBudget {
    pub fn new(cap: usize) -> Arc<Self> {
        Arc::new(Self {
            used: AtomicUsize::new(0),
            cap,
        })
    }

    /// Bytes held by live stores now.
    pub fn used(&self) -> usize {
        self.used.load(Ordering::Relaxed)
    }

    /// Takes `bytes`, or says how much all stores would then hold.
    fn take(&self, bytes: usize) -> Result<(), usize> {
        let mut used = self.used.load(Ordering::Relaxed);
        loop {
            let want = used.saturating_add(bytes);
            if want > self.cap {
                return Err(want);
            }
            match self
                .used
                .compare_exchange_weak(used, want, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Ok(()),
                Err(now) => used = now,
            }
        }
    }

    fn give_back(&self, bytes: usize) {
        self.used.fetch_sub(bytes, Ordering::AcqRel);
    }
}

/// Counts what a store holds; one per store.
#[derive(Debug)]
pub struct StoreLimiter {
    caps: StoreCaps,
    memory_cap: usize,
    memory_bytes: usize,
    table_elements: usize,
    host: Arc<HostMemoryBudget>,
}

impl StoreLimiter {
    pub fn new(memory_cap: usize, caps: StoreCaps, host: Arc<HostMemoryBudget>) -> Self {
        Self {
            caps,
            memory_cap,
            memory_bytes: 0,
            table_elements: 0,
            host,
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
        let before = self.memory_bytes;
        let granted = grow(
            &mut self.memory_bytes,
            self.memory_cap,
            StoreCap::MemoryBytes,
            current,
            desired,
            maximum,
        )?;
        let added = self.memory_bytes - before;
        if let Err(requested) = self.host.take(added) {
            self.memory_bytes = before;
            return Err(wasmtime::Error::new(StoreCapExceeded {
                kind: StoreCap::HostMemoryBytes,
                requested,
                cap: self.host.cap,
            }));
        }
        Ok(granted)
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

impl Drop for StoreLimiter {
    /// A dropped store's memories are gone: their bytes go back to the host-wide budget.
    fn drop(&mut self) {
        self.host.give_back(self.memory_bytes);
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
            HostMemoryBudget::new(usize::MAX),
        )
    }

    #[test]
    fn stores_share_the_host_budget_and_give_it_back_when_dropped() {
        let host = HostMemoryBudget::new(150);
        let mut a = StoreLimiter::new(100, StoreCaps::default(), host.clone());
        let mut b = StoreLimiter::new(100, StoreCaps::default(), host.clone());
        assert!(a.memory_growing(0, 100, None).unwrap());
        // Each store is under its own cap; together they would pass the host's.
        let err = b.memory_growing(0, 60, None).unwrap_err();
        let cap = err.downcast_ref::<StoreCapExceeded>().unwrap();
        assert_eq!(
            (cap.kind, cap.requested, cap.cap),
            (StoreCap::HostMemoryBytes, 160, 150)
        );
        assert_eq!(b.memory_bytes(), 0, "a refused growth is not counted");
        assert!(b.memory_growing(0, 50, None).unwrap());
        assert_eq!(host.used(), 150);
        drop(a);
        assert_eq!(host.used(), 50, "a dropped store gives its memory back");
        assert!(b.memory_growing(50, 100, None).unwrap());
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
