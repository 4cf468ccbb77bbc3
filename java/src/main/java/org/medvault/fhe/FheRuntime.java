package org.medvault.fhe;

/**
 * Process-wide settings of the native layer. All FHE work runs in one native thread pool, so CPU
 * use is bounded by {@link #setThreads(int)} (default: the number of cores) however many Java
 * threads call in.
 */
public final class FheRuntime {
    static {
        NativeLibrary.load();
    }

    private FheRuntime() {}

    /** Bounds the native compute pool to {@code threads} threads (1..1024). */
    public static void setThreads(int threads) {
        nativeSetThreads(threads);
    }

    public static int threads() {
        return nativeThreads();
    }

    /** Versions of the native library, TFHE-rs and the parameter set. */
    public static String nativeVersion() {
        return nativeVersionString();
    }

    /**
     * Programmable bootstraps (PBS) this process has run so far, over all threads. The cost of FHE
     * work is, to first order, its number of bootstraps: take the difference around an operation.
     */
    public static long pbsCount() {
        return nativePbsCount();
    }

    /** Makes the native library panic; only for tests that prove a panic becomes an exception. */
    static void panicForTest() {
        nativePanicForTest();
    }

    /** Bytes of an FheUint8 under another parameter set; only for tests of parameter checks. */
    static byte[] foreignParameterCiphertextForTest() {
        return nativeForeignCiphertextForTest();
    }

    private static native byte[] nativeForeignCiphertextForTest();

    private static native long nativePbsCount();

    private static native void nativeSetThreads(int threads);

    private static native int nativeThreads();

    private static native String nativeVersionString();

    private static native void nativePanicForTest();
}
