//! A page-scoped allocator for connectors: bump allocation in a fixed region that starts over
//! whenever everything in it has been freed, with the system allocator behind it.
//!
//! Why: a `handle` call allocates a few hundred small values (parsed fields, ids, the records
//! blob) and frees them all by the end of the call, when the host has copied the page out.
//! Inside wasm the system allocator is dlmalloc, whose malloc/free pairs were ~13 % of the
//! Shotgun guest's time; here an allocation is an add and a compare, a free a decrement.
//!
//! Safety of reuse does not depend on call boundaries: the region is only reused when its live
//! count drops to zero. A value that outlives a call (a cache, a lazily built table) keeps the
//! count up; the region then fills and every later allocation goes to the system allocator:
//! the old speed, never unbounded growth. It does not own anything but memory placement.
//!
//! Connectors opt in for their wasm build (the native build keeps the platform's allocator):
//!
//! ```ignore
//! #[cfg(target_arch = "wasm32")]
//! #[global_allocator]
//! static ALLOC: boxoffice_plugin_sdk::arena::PageArena = boxoffice_plugin_sdk::arena::PageArena::new();
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;

/// Bytes of the region: a page's body (~140 KB for 100 Shotgun tickets) plus what is parsed
/// out of it, several times over. Taken from the system allocator at the first allocation.
pub const ARENA_BYTES: usize = 4 << 20;

/// The bookkeeping of one region `[base, end)`, independent of where its memory comes from
/// (so it is tested natively over a plain buffer).
#[derive(Debug, Default)]
pub struct Bump {
    base: usize,
    end: usize,
    next: usize,
    live: usize,
    /// Start of the newest allocation while it is still the last one (0: none), so that the
    /// growing `Vec` or `String` at the top extends in place.
    last: usize,
}

impl Bump {
    pub fn new(base: usize, len: usize) -> Self {
        Self {
            base,
            end: base + len,
            next: base,
            live: 0,
            last: 0,
        }
    }

    pub fn contains(&self, ptr: usize) -> bool {
        ptr >= self.base && ptr < self.end
    }

    /// Bytes handed out since the region last started over.
    pub fn used(&self) -> usize {
        self.next - self.base
    }

    pub fn live(&self) -> usize {
        self.live
    }

    /// An address for `layout`, or `None` when the region cannot fit it.
    pub fn alloc(&mut self, layout: Layout) -> Option<usize> {
        if self.base == 0 {
            return None;
        }
        let start = self.next.checked_add(layout.align() - 1)? & !(layout.align() - 1);
        let end = start.checked_add(layout.size())?;
        if end > self.end {
            return None;
        }
        self.next = end;
        self.live += 1;
        self.last = start;
        Some(start)
    }

    pub fn free(&mut self, ptr: usize) {
        self.live -= 1;
        if self.live == 0 {
            self.next = self.base;
            self.last = 0;
        } else if ptr == self.last {
            self.next = ptr;
            self.last = 0;
        }
    }

    /// Resizes the newest allocation where it is; `false` when it is not the newest or the
    /// region cannot fit the new size.
    pub fn resize_in_place(&mut self, ptr: usize, new_size: usize) -> bool {
        if ptr != self.last || ptr + new_size > self.end {
            return false;
        }
        self.next = ptr + new_size;
        true
    }
}

/// The global allocator of a connector's wasm build (see the module docs).
pub struct PageArena {
    bump: UnsafeCell<Bump>,
}

// A wasm32-wasip2 component has one thread: no two calls can touch the bookkeeping at once.
// (The native build never installs this allocator.)
unsafe impl Sync for PageArena {}

impl PageArena {
    #[allow(clippy::new_without_default)]
    pub const fn new() -> Self {
        Self {
            bump: UnsafeCell::new(Bump {
                base: 0,
                end: 0,
                next: 0,
                live: 0,
                last: 0,
            }),
        }
    }

    /// # Safety
    /// Single-threaded use only (see the `Sync` impl).
    #[allow(clippy::mut_from_ref)]
    unsafe fn bump(&self) -> &mut Bump {
        let b = &mut *self.bump.get();
        if b.base == 0 && b.end == 0 {
            // First use: take the region from the system allocator once. If that fails the
            // region stays empty (end = 1 marks "tried") and everything goes to the system.
            let region = System.alloc(Layout::from_size_align_unchecked(ARENA_BYTES, 16));
            *b = if region.is_null() {
                Bump {
                    end: 1,
                    ..Bump::default()
                }
            } else {
                Bump::new(region as usize, ARENA_BYTES)
            };
        }
        b
    }
}

unsafe impl GlobalAlloc for PageArena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.bump().alloc(layout) {
            Some(p) => p as *mut u8,
            None => System.alloc(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let b = self.bump();
        if b.contains(ptr as usize) {
            b.free(ptr as usize);
        } else {
            System.dealloc(ptr, layout);
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let b = self.bump();
        if b.contains(ptr as usize) && b.resize_in_place(ptr as usize, new_size) {
            return ptr;
        }
        let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
        if !new.is_null() {
            std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        new
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(size: usize, align: usize) -> Layout {
        Layout::from_size_align(size, align).unwrap()
    }

    #[test]
    fn the_region_starts_over_when_everything_is_freed() {
        let mut b = Bump::new(4096, 1024);
        let a = b.alloc(l(10, 1)).unwrap();
        let c = b.alloc(l(8, 8)).unwrap();
        assert_eq!((a, c), (4096, 4112), "aligned after the first");
        assert_eq!(b.live(), 2);
        b.free(a);
        assert_eq!(b.used(), 24, "a hole in the middle is not reused yet");
        b.free(c);
        assert_eq!((b.live(), b.used()), (0, 0), "all freed: start over");
        assert_eq!(b.alloc(l(1, 1)), Some(4096));
    }

    #[test]
    fn the_newest_allocation_grows_and_rolls_back_in_place() {
        let mut b = Bump::new(4096, 1024);
        let keep = b.alloc(l(16, 8)).unwrap();
        let v = b.alloc(l(100, 8)).unwrap();
        assert!(b.resize_in_place(v, 400));
        assert_eq!(b.used(), 16 + 400);
        assert!(!b.resize_in_place(keep, 32), "not the newest");
        assert!(!b.resize_in_place(v, 2000), "past the region");
        b.free(v);
        assert_eq!(b.used(), 16, "freeing the newest gives its room back");
        assert_eq!(b.live(), 1);
        b.free(keep);
        assert_eq!(b.used(), 0);
    }

    #[test]
    fn a_full_region_says_no_and_a_pinned_one_never_grows() {
        let mut b = Bump::new(4096, 256);
        let pinned = b.alloc(l(8, 8)).unwrap();
        // A value that outlives every call keeps the region from starting over...
        for _ in 0..100 {
            if let Some(p) = b.alloc(l(64, 8)) {
                let q = b.alloc(l(8, 8));
                b.free(p);
                if let Some(q) = q {
                    b.free(q);
                }
            }
        }
        // ...so it fills, and the caller falls back instead of growing it.
        assert!(b.used() <= 256);
        assert!(b.alloc(l(512, 8)).is_none());
        assert!(b.contains(pinned) && !b.contains(4096 + 256));
        assert_eq!(
            Bump::default().alloc(l(1, 1)),
            None,
            "no region, no allocation"
        );
    }
}
