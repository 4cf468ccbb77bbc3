package org.medvault.fhe;

/** An encrypted 16-bit unsigned integer. */
public final class FheUint16 extends FheUint<FheUint16> {
    FheUint16(long handle) {
        super(handle);
    }

    @Override
    public FheType<FheUint16> type() {
        return FheType.UINT16;
    }

    /** Encrypts an unsigned value (0 to 2^16-1; for 64 bits any long, read as unsigned). */
    public static FheUint16 encrypt(ClientKey key, long value) {
        return key.encrypt(FheType.UINT16, value);
    }

    public static FheUint16 deserialize(byte[] bytes) {
        return Ciphertext.deserialize(FheType.UINT16, bytes);
    }
}
