//! Where FHE work runs.
//!
//! Each call runs on the calling JVM thread, with the caller's server key installed as that
//! thread's tfhe-rs context for the duration of the call (so any JVM thread can compute with any
//! key); tfhe-rs's internal parallelism runs on rayon's global pool, which MedVault sizes once
//! (default: the number of cores; `MEDVAULT_THREADS` or `FheRuntime.setThreads` before the first
//! FHE call). Top-level calls are deliberately *not* run inside a rayon pool: tfhe-rs keeps the
//! server key and its encryption engine in thread-locals that are borrowed for a whole operation,
//! and a rayon worker that steals another caller's top-level job while inside one would re-borrow
//! them and panic ("RefCell already borrowed"). The global pool only ever runs tfhe-rs's own tasks.

use std::sync::OnceLock;

use jni::objects::JClass;
use jni::sys::jint;
use jni::EnvUnowned;
use tfhe::ServerKey;

use crate::error::{entry, Error, Result};

static POOL_THREADS: OnceLock<usize> = OnceLock::new();

fn default_threads() -> usize {
    if let Some(n) = std::env::var("MEDVAULT_THREADS").ok().and_then(|v| v.trim().parse::<usize>().ok()) {
        if n > 0 {
            return n;
        }
    }
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

fn check_count(threads: usize) -> Result<()> {
    if threads == 0 || threads > 1024 {
        return Err(Error::invalid(format!("thread count must be between 1 and 1024, got {threads}")));
    }
    Ok(())
}

/// Builds rayon's global pool with `threads` threads, once. Returns the count in force.
fn init_pool(threads: usize) -> Result<usize> {
    let mut failure = None;
    let n = *POOL_THREADS.get_or_init(|| {
        match rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .thread_name(|i| format!("medvault-fhe-{i}"))
            .build_global()
        {
            Ok(()) => threads,
            Err(e) => {
                // Someone built the global pool before us; report the size it has.
                failure = Some(e.to_string());
                rayon::current_num_threads()
            }
        }
    });
    if let Some(e) = failure {
        if n != threads {
            return Err(Error::internal(format!("cannot size the compute pool: {e}")));
        }
    }
    Ok(n)
}

/// The number of threads of the compute pool (starting it with the default if needed).
pub fn threads() -> Result<usize> {
    match POOL_THREADS.get() {
        Some(&n) => Ok(n),
        None => init_pool(default_threads()),
    }
}

/// Sets the pool size. Possible until the first FHE call starts the pool; afterwards only the
/// size already in force is accepted.
pub fn set_threads(threads: usize) -> Result<()> {
    check_count(threads)?;
    if let Some(&n) = POOL_THREADS.get() {
        if n != threads {
            return Err(Error::unsupported(format!(
                "the compute pool already runs with {n} threads; set MEDVAULT_THREADS or call \
                 FheRuntime.setThreads before the first FHE operation"
            )));
        }
        return Ok(());
    }
    let n = init_pool(threads)?;
    if n != threads {
        return Err(Error::unsupported(format!("the compute pool already runs with {n} threads")));
    }
    Ok(())
}

/// Runs keyless work (key generation, encryption, decryption, list expansion), catching panics.
pub fn run<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    threads()?;
    crate::error::catch(f)
}

/// Runs `f` with `sk` as the calling thread's server key, restoring the previous one afterwards.
pub fn compute<T>(sk: &ServerKey, f: impl FnOnce() -> Result<T>) -> Result<T> {
    threads()?;
    let sk = sk.clone(); // an Arc clone
    crate::error::catch(|| tfhe::with_server_key_as_context(sk, f))
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
    entry(&mut env, |_| Ok(threads()? as jint))
}

#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativeVersionString<'l>(
    mut env: EnvUnowned<'l>,
    _class: JClass<'l>,
) -> jni::objects::JString<'l> {
    entry(&mut env, |env| {
        let s = format!(
            "medvault-native {} (tfhe {}, {})",
            env!("CARGO_PKG_VERSION"),
            crate::TFHE_VERSION,
            crate::params::PARAMETER_SET_NAME
        );
        Ok(env.new_string(s)?)
    })
}

/// Test hook: panics inside native code, to prove a panic becomes a Java exception.
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativePanicForTest<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) {
    entry(&mut env, |_| -> Result<()> { run(|| -> Result<()> { panic!("deliberate test panic {}", 42) }) })
}

/// Test hook: the bytes of an FheUint8 made under another (secure) parameter set,
/// MESSAGE_1_CARRY_1, to prove that loading it is refused.
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

/// Programmable bootstraps run by this process so far (tfhe-rs `pbs-stats`).
#[unsafe(no_mangle)]
pub extern "system" fn Java_org_medvault_fhe_FheRuntime_nativePbsCount<'l>(mut env: EnvUnowned<'l>, _class: JClass<'l>) -> jni::sys::jlong {
    entry(&mut env, |_| Ok(tfhe::get_pbs_count() as jni::sys::jlong))
}
