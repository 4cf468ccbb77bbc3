//! A query plan as the JNI entry point reads it: JSON, then the executor's validation. Any plan
//! text must give a value or an error, never a panic.
#![no_main]
use libfuzzer_sys::fuzz_target;
use medvault_native::query::{Executor, Plan};

fuzz_target!(|data: &[u8]| {
    if let Ok(plan) = serde_json::from_slice::<Plan>(data) {
        let _ = Executor::new(plan, 1);
    }
});
