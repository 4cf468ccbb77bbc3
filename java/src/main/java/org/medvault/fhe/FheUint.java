package org.medvault.fhe;

/**
 * An encrypted unsigned integer of a fixed width. Arithmetic wraps around modulo 2^width, like
 * the corresponding Rust unsigned type.
 *
 * @param <T> the concrete width class, so operations return the same width
 */
public abstract sealed class FheUint<T extends FheUint<T>> extends Ciphertext
        permits FheUint8, FheUint16, FheUint32, FheUint64 {
    FheUint(long handle) {
        super(handle);
    }

    @Override
    public abstract FheType<T> type();
}
