package org.medvault.fhe;

/** An encrypted 32-bit unsigned integer. */
public final class FheUint32 extends FheUint<FheUint32> {
    FheUint32(long handle) {
        super(handle);
    }

    @Override
    public FheType<FheUint32> type() {
        return FheType.UINT32;
    }

    /** Encrypts an unsigned value (0 to 2^32-1; for 64 bits any long, read as unsigned). */
    public static FheUint32 encrypt(ClientKey key, long value) {
        return key.encrypt(FheType.UINT32, value);
    }

    public static FheUint32 deserialize(byte[] bytes) {
        return Ciphertext.deserialize(FheType.UINT32, bytes);
    }
}
