//! MedVault's native layer: a JNI shim over TFHE-rs.
//!
//! One module per Java class of `org.medvault.fhe`; every exported function goes through
//! [`error::entry`], which turns errors and panics into `MedVaultException`.

pub mod ciphertext;
pub mod client_key;
pub mod compact_list;
pub mod error;
pub mod handle;
pub mod params;
pub mod public_key;
pub mod query;
pub mod release;
pub mod runtime;
pub mod secret;
pub mod server_key;
pub mod submission;
pub mod threshold;
pub mod workers;

/// The exact tfhe-rs version this library is built against (pinned in Cargo.toml).
pub const TFHE_VERSION: &str = "1.8.2";

#[unsafe(no_mangle)]
pub extern "system" fn JNI_OnLoad(_vm: *mut jni::sys::JavaVM, _reserved: *mut std::ffi::c_void) -> jni::sys::jint {
    error::install_quiet_panic_hook();
    jni::sys::JNI_VERSION_1_8
}
