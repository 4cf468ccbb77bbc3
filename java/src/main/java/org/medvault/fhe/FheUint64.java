package org.medvault.fhe;

/** An encrypted 64-bit unsigned integer. */
public final class FheUint64 extends FheUint<FheUint64> {
    FheUint64(long handle) {
        super(handle);
    }

    @Override
    public FheType<FheUint64> type() {
        return FheType.UINT64;
    }

    /** Encrypts an unsigned value (0 to 2^64-1; for 64 bits any long, read as unsigned). */
    public static FheUint64 encrypt(ClientKey key, long value) {
        return key.encrypt(FheType.UINT64, value);
    }

    public static FheUint64 deserialize(byte[] bytes) {
        return Ciphertext.deserialize(FheType.UINT64, bytes);
    }
}
