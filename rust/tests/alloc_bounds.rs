//! Sizes read from a file bound what MedVault allocates: a few crafted bytes must not make it
//! request more memory than the largest object of that kind it writes, with margin. An allocator
//! here records the largest single request while it watches.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

struct Watch;

static WATCHING: AtomicBool = AtomicBool::new(false);
static LARGEST: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if WATCHING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if WATCHING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static WATCH: Watch = Watch;

/// Found by `scripts/fuzz` (target `ciphertexts`, a "slow unit": 16 s and 2.2 GB for 13 bytes): a
/// compact list whose header claims a 2 GB string was allowed, since lists were read with a 2 GiB
/// limit. MedVault's largest list (a vault chunk: at most 8 masks of 2048 blocks) is ~256 KB.
#[test]
fn a_thirteen_byte_list_cannot_demand_gigabytes() {
    let crafted = b"\x00\x00\x00\x7f\x00\x00\x00\x00\x00\x00\x00\x00h";
    WATCHING.store(true, Ordering::SeqCst);
    let r = medvault_native::compact_list::deserialize(crafted);
    let proven = medvault_native::submission::sanitized_from_bytes(crafted);
    WATCHING.store(false, Ordering::SeqCst);
    assert!(r.is_err() && proven.is_err());
    let largest = LARGEST.load(Ordering::SeqCst);
    assert!(largest <= 64 << 20, "13 bytes made MedVault request {largest} bytes at once");
}
