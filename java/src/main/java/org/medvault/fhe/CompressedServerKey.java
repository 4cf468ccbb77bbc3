package org.medvault.fhe;

/** The evaluation key in its storage form (public). Decompress it once to compute. */
public final class CompressedServerKey extends NativeObject {
    CompressedServerKey(long handle) {
        super(handle, CompressedServerKey::nativeDestroy);
    }

    @Override
    String describe() {
        return "compressed server key";
    }

    public static CompressedServerKey deserialize(byte[] bytes) {
        NativeLibrary.load();
        if (bytes == null) {
            throw new MedVaultException(MedVaultException.Code.INVALID_INPUT, "no bytes to load a server key from");
        }
        return new CompressedServerKey(nativeDeserialize(bytes));
    }

    /** Loads a key file directly in native code (no copy of the bytes in the Java heap). */
    public static CompressedServerKey read(java.nio.file.Path file) {
        NativeLibrary.load();
        return new CompressedServerKey(nativeRead(file.toAbsolutePath().toString()));
    }

    public byte[] serialize() {
        return withHandles(h -> nativeSerialize(h[0]), this);
    }

    public String keyId() {
        return withHandles(h -> hex(nativeKeyId(h[0])), this);
    }

    public FheConfig config() {
        return withHandles(h -> FheConfig.fromBits(nativeFeatures(h[0])), this);
    }

    /** Expands the key for computation (a few seconds; the result is several times larger). */
    public ServerKey decompress() {
        return withHandles(h -> new ServerKey(nativeDecompress(h[0])), this);
    }

    static native void nativeDestroy(long handle);

    static native byte[] nativeKeyId(long handle);

    static native int nativeFeatures(long handle);

    static native byte[] nativeSerialize(long handle);

    static native long nativeDeserialize(byte[] bytes);

    static native long nativeDecompress(long handle);

    static native long nativeRead(String path);
}
