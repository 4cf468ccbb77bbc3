//! Native objects cross JNI as `long` handles: a leaked `Box<T>`.
//! Java guarantees a handle is freed exactly once and never used after (see NativeObject.java);
//! here we still refuse the null handle.

use jni::sys::jlong;

use crate::error::{Error, Result};

/// The `nativeDestroy` export of a Java class whose handle boxes a `$t`: frees it (Java calls it
/// exactly once, see NativeObject.java).
#[macro_export]
macro_rules! native_destroy {
    ($name:ident, $t:ty) => {
        #[unsafe(no_mangle)]
        pub extern "system" fn $name<'l>(mut env: jni::EnvUnowned<'l>, _c: jni::objects::JClass<'l>, h: jni::sys::jlong) {
            $crate::error::entry(&mut env, |_| {
                unsafe { $crate::handle::free::<$t>(h) };
                Ok(())
            })
        }
    };
}

/// The `nativeKeyId` export of a Java class: the key id (tfhe-rs tag bytes) of the object behind
/// handle `$h`, given as an expression that may use `?` (`native_key_id!(Name, |h| get(h)?.tag())`).
#[macro_export]
macro_rules! native_key_id {
    ($name:ident, |$h:ident| $tag:expr) => {
        #[unsafe(no_mangle)]
        pub extern "system" fn $name<'l>(
            mut env: jni::EnvUnowned<'l>,
            _c: jni::objects::JClass<'l>,
            $h: jni::sys::jlong,
        ) -> jni::objects::JByteArray<'l> {
            $crate::error::entry(&mut env, |env| {
                #[allow(unused_unsafe)]
                let tag: &tfhe::Tag = unsafe { $tag };
                Ok(env.byte_array_from_slice(tag.data())?)
            })
        }
    };
}

pub fn into_handle<T>(value: T) -> jlong {
    Box::into_raw(Box::new(value)) as jlong
}

/// # Safety
/// `handle` must come from `into_handle::<T>` and not have been freed.
pub unsafe fn borrow<'a, T>(handle: jlong, what: &str) -> Result<&'a T> {
    let ptr = handle as *const T;
    if ptr.is_null() {
        return Err(Error::invalid(format!("{what} handle is null (closed?)")));
    }
    if (ptr as usize) % std::mem::align_of::<T>() != 0 {
        return Err(Error::invalid(format!("{what} handle is misaligned")));
    }
    Ok(unsafe { &*ptr })
}

/// # Safety
/// `handle` must come from `into_handle::<T>` and not have been freed; it is freed here.
pub unsafe fn free<T>(handle: jlong) {
    let ptr = handle as *mut T;
    if !ptr.is_null() {
        drop(unsafe { Box::from_raw(ptr) });
    }
}

/// A Java long[] of `values`.
pub fn long_array<'l>(env: &mut jni::Env<'l>, values: &[jlong]) -> Result<jni::objects::JLongArray<'l>> {
    let arr = env.new_long_array(values.len())?;
    arr.set_region(env, 0, values)?;
    Ok(arr)
}

/// Hands ciphertexts to Java as a long[] of handles; if the array cannot be made, frees them.
pub fn ciphertext_array<'l>(env: &mut jni::Env<'l>, cts: Vec<crate::ciphertext::Ct>) -> Result<jni::objects::JLongArray<'l>> {
    let hs: Vec<jlong> = cts.into_iter().map(into_handle).collect();
    long_array(env, &hs).inspect_err(|_| {
        for &h in &hs {
            unsafe { free::<crate::ciphertext::Ct>(h) };
        }
    })
}

/// The byte arrays of a Java byte[][].
pub fn from_byte_arrays(env: &mut jni::Env<'_>, arr: &jni::objects::JObjectArray<'_>) -> Result<Vec<Vec<u8>>> {
    let n = arr.len(env)?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let o = arr.get_element(env, i)?;
        let b = unsafe { jni::objects::JByteArray::from_raw(env, o.into_raw()) };
        out.push(env.convert_byte_array(&b)?);
    }
    Ok(out)
}

/// A Java byte[][] of `items`.
pub fn byte_arrays<'l>(env: &mut jni::Env<'l>, items: &[Vec<u8>]) -> Result<jni::objects::JObjectArray<'l>> {
    let arr = env.new_object_array(items.len() as i32, jni::jni_str!("[B"), jni::objects::JObject::null())?;
    for (i, it) in items.iter().enumerate() {
        let b = env.byte_array_from_slice(it)?;
        arr.set_element(env, i, &b)?;
    }
    Ok(arr)
}
