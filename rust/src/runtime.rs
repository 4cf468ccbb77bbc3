//! The compute pool: every FHE call runs inside MedVault's rayon pool (so CPU use is bounded by
//! a configurable thread count) with the caller's server key installed as the thread-local
//! context for the duration of the call (so any JVM thread can compute with any key).

use std::sync::{Arc, RwLock};

use jni::objects::JClass;
use jni::sys::jint;
use jni::EnvUnowned;
use rayon::{ThreadPool, ThreadPoolBuilder};
use tfhe::ServerKey;

use crate::error::{entry, Error, Result};

static POOL: RwLock<Option<Arc<ThreadPool>>> = RwLock::new(None);

fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn build(threads: usize) -> Result<Arc<ThreadPool>> {
    ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("medvault-fhe-{i}"))
        .build()
        .map(Arc::new)
        .map_err(|e| Error::internal(format!("cannot start the compute pool: {e}")))
}

pub fn pool() -> Result<Arc<ThreadPool>> {
    if let Some(p) = POOL.read().map_err(|_| Error::internal("pool lock poisoned"))?.as_ref() {
        return Ok(p.clone());
    }
    let mut guard = POOL.write().map_err(|_| Error::internal("pool lock poisoned"))?;
    if guard.is_none() {
        *guard = Some(build(default_threads())?);
    }
    Ok(guard.as_ref().expect("pool set above").clone())
}

pub fn set_threads(threads: usize) -> Result<()> {
    if threads == 0 || threads > 1024 {
        return Err(Error::invalid(format!("thread count must be between 1 and 1024, got {threads}")));
    }
    let p = build(threads)?;
    *POOL.write().map_err(|_| Error::internal("pool lock poisoned"))? = Some(p);
    Ok(())
}

/// Runs `f` in the pool without a server key (key generation, encryption, decryption).
pub fn run<T: Send>(f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let p = pool()?;
    p.install(|| crate::error::catch(f))
}

/// Runs `f` in the pool with `sk` as the server key of the executing thread.
pub fn compute<T: Send>(sk: &ServerKey, f: impl FnOnce() -> Result<T> + Send) -> Result<T> {
    let p = pool()?;
    let sk = sk.clone(); // an Arc clone
    p.install(move || crate::error::catch(|| tfhe::with_server_key_as_context(sk, f)))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativeSetThreads<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
    threads: jint,
) {
    entry(&mut env, |_| set_threads(usize::try_from(threads).unwrap_or(0)))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativeThreads<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jint {
    entry(&mut env, |_| Ok(pool()?.current_num_threads() as jint))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativeVersionString<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
) -> jni::sys::jstring {
    entry(&mut env, |env| {
        let s = format!(
            "medvault-native {} (tfhe {} , {})",
            env!("CARGO_PKG_VERSION"),
            crate::TFHE_VERSION,
            crate::params::PARAMETER_SET_NAME
        );
        Ok(env.new_string(s)?.into_raw())
    })
}

/// Test hook: panics inside native code, to prove a panic becomes a Java exception.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativePanicForTest<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
) {
    entry(&mut env, |_| -> Result<()> { run(|| -> Result<()> { panic!("deliberate test panic {}", 42) }) })
}

/// Test hook: the bytes of an FheUint8 made under another (secure) parameter set,
/// MESSAGE_3_CARRY_3, to prove that loading it is refused.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativeForeignCiphertextForTest<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
) -> jni::objects::JByteArray<'l> {
    entry(&mut env, |env| {
        let bytes = run(crate::params::foreign_parameter_ciphertext)?;
        Ok(env.byte_array_from_slice(&bytes)?)
    })
}
