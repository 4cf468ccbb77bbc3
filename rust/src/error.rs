//! One crate error type and one policy that turns errors and panics into
//! `org.medvault.fhe.MedVaultException` (never an abort of the JVM).

use std::any::Any;
use std::cell::RefCell;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use jni::{jni_str, strings::JNIString, Env, EnvUnowned};

/// Error codes shared with `MedVaultException.Code` (the names must match).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    InvalidInput,
    CorruptData,
    KeyMismatch,
    Unsupported,
    Internal,
}

impl Code {
    pub fn name(self) -> &'static str {
        match self {
            Code::InvalidInput => "INVALID_INPUT",
            Code::CorruptData => "CORRUPT_DATA",
            Code::KeyMismatch => "KEY_MISMATCH",
            Code::Unsupported => "UNSUPPORTED",
            Code::Internal => "INTERNAL",
        }
    }
}

#[derive(Debug)]
pub struct Error {
    pub code: Code,
    pub message: String,
    /// A Java exception is already pending: do not throw a second one.
    java_pending: bool,
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        Error { code, message: message.into(), java_pending: false }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::new(Code::InvalidInput, message)
    }
    pub fn corrupt(message: impl Into<String>) -> Self {
        Self::new(Code::CorruptData, message)
    }
    pub fn mismatch(message: impl Into<String>) -> Self {
        Self::new(Code::KeyMismatch, message)
    }
    pub fn unsupported(message: impl Into<String>) -> Self {
        Self::new(Code::Unsupported, message)
    }
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(Code::Internal, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code.name(), self.message)
    }
}

impl std::error::Error for Error {}

impl From<jni::errors::Error> for Error {
    fn from(e: jni::errors::Error) -> Self {
        let pending = matches!(e, jni::errors::Error::JavaException);
        Error { code: Code::Internal, message: format!("JNI: {e}"), java_pending: pending }
    }
}

impl From<tfhe::Error> for Error {
    fn from(e: tfhe::Error) -> Self {
        Error::invalid(e.to_string())
    }
}

thread_local! {
    /// Where the panic hook leaves the location of the last panic on this thread.
    static LAST_PANIC_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Installs a panic hook that prints nothing (no panic trace on the user's terminal)
/// and remembers where the panic happened, for the exception message.
pub fn install_quiet_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let loc = info.location().map(|l| format!("{}:{}", l.file(), l.line()));
        LAST_PANIC_LOCATION.with(|c| *c.borrow_mut() = loc);
    }));
}

pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    let msg = if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    };
    match LAST_PANIC_LOCATION.with(|c| c.borrow_mut().take()) {
        Some(loc) => format!("native panic: {msg} (at {loc})"),
        None => format!("native panic: {msg}"),
    }
}

/// Runs `f` as a panic-safe call: any panic (ours or tfhe-rs's) comes back as an Error.
pub fn catch<T>(f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => Err(Error::internal(panic_message(payload.as_ref()))),
    }
}

fn throw(env: &mut Env<'_>, err: &Error) {
    if err.java_pending || env.exception_check() {
        return;
    }
    let msg = format!("{}:{}", err.code.name(), err.message);
    // The Java constructor MedVaultException(String) parses the "CODE:" prefix.
    let _ = env.throw_new(jni_str!("org/medvault/fhe/MedVaultException"), JNIString::new(msg));
}

/// The one entry-point wrapper: every exported function is `entry(&mut env, |env| intern(env, ..))`.
/// Errors and panics become a `MedVaultException`; the returned value is then ignored by Java.
pub fn entry<'local, T, F>(env: &mut EnvUnowned<'local>, f: F) -> T
where
    T: Default,
    F: FnOnce(&mut Env<'local>) -> Result<T>,
{
    env.with_env(|env| -> jni::errors::Result<T> {
        let outcome = catch_unwind(AssertUnwindSafe(|| f(env)));
        let err = match outcome {
            Ok(Ok(v)) => return Ok(v),
            Ok(Err(e)) => e,
            Err(payload) => Error::internal(panic_message(payload.as_ref())),
        };
        throw(env, &err);
        Ok(T::default())
    })
    .resolve::<jni::errors::ThrowRuntimeExAndDefault>()
}
