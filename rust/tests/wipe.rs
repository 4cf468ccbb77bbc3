//! Secret keys are wiped before their memory is freed. An allocator that looks into every block
//! freed while it is armed finds a window of the client key's secret coefficients there if they
//! were freed unchanged (what dropping a tfhe-rs key does): seen with a plain drop of a copy (the
//! control), never when MedVault frees a key it holds or takes one apart.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use medvault_native::client_key;
use medvault_native::params::Features;
use medvault_native::{release, secret};
use tfhe::shortint::client_key::atomic_pattern::AtomicPatternClientKey;
use zeroize::Zeroize;

const WINDOW: usize = 1024;

struct Watch;

static ARMED: AtomicBool = AtomicBool::new(false);
static FOUND: AtomicUsize = AtomicUsize::new(0);
/// Windows of secret bytes to look for, set before arming (fixed arrays: no allocation inside the
/// allocator).
static mut NEEDLES: [[u8; WINDOW]; 2] = [[0; WINDOW]; 2];

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay.windows(needle.len()).any(|w| w[0] == needle[0] && w == needle)
}

unsafe impl GlobalAlloc for Watch {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::SeqCst) && layout.size() >= WINDOW {
            let block = unsafe { std::slice::from_raw_parts(ptr, layout.size()) };
            let needles = unsafe { &*std::ptr::addr_of!(NEEDLES) };
            if needles.iter().any(|n| contains(block, n)) {
                FOUND.fetch_add(1, Ordering::SeqCst);
            }
        }
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static WATCH: Watch = Watch;

/// One armed window at a time (tests run on several threads).
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Arms the allocator with windows of `key`'s secrets: the compute key's LWE secret and the
/// noise-squashing secret (both copied out here and wiped, before arming).
fn arm(key: &tfhe::ClientKey) -> std::sync::MutexGuard<'static, ()> {
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let mut parts = secret::parts(key.clone());
    let integer = std::mem::replace(&mut parts.0, tfhe::integer::ClientKey::new(tfhe::shortint::parameters::PARAM_MESSAGE_2_CARRY_2_KS_PBS_TUNIFORM_2M128));
    let (mut glwe, mut lwe) = match integer.into_raw_parts().atomic_pattern {
        AtomicPatternClientKey::Standard(ap) => {
            let (g, l, ..) = ap.into_raw_parts();
            (g.into_container(), l.into_container())
        }
        AtomicPatternClientKey::KeySwitch32(_) => panic!("MedVault keys use the standard atomic pattern"),
    };
    let squashing = parts.3.take().expect("a key with noise squashing");
    let mut sq = squashing.into_raw_parts().into_raw_parts().0.into_container();
    secret::wipe_parts(parts);
    let mut a: Vec<u8> = lwe.iter().flat_map(|c| c.to_le_bytes()).collect();
    let mut b: Vec<u8> = sq.iter().flat_map(|c| c.to_le_bytes()).collect();
    unsafe {
        let n = &mut *std::ptr::addr_of_mut!(NEEDLES);
        n[0].copy_from_slice(&a[..WINDOW]);
        n[1].copy_from_slice(&b[..WINDOW]);
    }
    for v in [&mut a, &mut b] {
        v.zeroize();
    }
    glwe.zeroize();
    lwe.zeroize();
    sq.zeroize();
    FOUND.store(0, Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    guard
}

/// Disarms; how many freed blocks held a secret window while armed.
fn disarm(_guard: std::sync::MutexGuard<'static, ()>) -> usize {
    ARMED.store(false, Ordering::SeqCst);
    FOUND.load(Ordering::SeqCst)
}

fn key() -> client_key::ClientKeyBox {
    client_key::generate(Features { compression: true, noise_squashing: true }).expect("keygen")
}

#[test]
fn the_detector_sees_a_key_freed_unchanged() {
    let k = key();
    let copy = (*k.key).clone();
    let g = arm(&k.key);
    drop(copy);
    assert!(disarm(g) >= 2, "a plain drop of a tfhe-rs key frees both secrets unchanged");
}

#[test]
fn freeing_a_key_wipes_its_secrets() {
    let k = key();
    let g = arm(&k.key);
    drop(k);
    assert_eq!(disarm(g), 0);
}

#[test]
fn reading_a_key_leaves_no_unwiped_copy() {
    let k = key();
    let g = arm(&k.key);
    let mut s = release::squashing_secret(&k.key).unwrap();
    s.zeroize();
    drop(s);
    client_key::trusted_public(&k.key).unwrap();
    let shares = release::deal_key(&k.key, 3, 2).unwrap();
    drop(shares);
    assert_eq!(disarm(g), 0);
}

#[test]
fn loading_a_key_leaves_no_unwiped_copy() {
    let k = key();
    let mut bytes = medvault_native::params::serialize(&*k.key, medvault_native::params::LIMIT_CLIENT_KEY, "client key").unwrap();
    let g = arm(&k.key);
    let loaded = client_key::load(&bytes).unwrap();
    assert_eq!(loaded.key_id(), k.key_id());
    drop(loaded);
    bytes.zeroize();
    drop(bytes);
    assert_eq!(disarm(g), 0);
}
