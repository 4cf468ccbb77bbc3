package org.medvault.fhe;

/**
 * The one exception type of MedVault's FHE binding. Every native failure, including a panic inside
 * TFHE-rs, arrives as this exception with a {@link Code}; the JVM keeps running.
 */
public class MedVaultException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** What kind of failure this is; scripts and callers branch on it, not on the message. */
    public enum Code {
        /** The caller passed something unusable: a value out of range, a closed object, mixed types. */
        INVALID_INPUT,
        /** Bytes that should hold a key or ciphertext are corrupt, truncated or of another type. */
        CORRUPT_DATA,
        /** Objects belong to different keys, or to parameters other than MedVault's. */
        KEY_MISMATCH,
        /** The operation is not available for this type or key (e.g. sum of booleans). */
        UNSUPPORTED,
        /** A bug or a failure inside the native library (a caught panic, a JNI error). */
        INTERNAL
    }

    private final Code code;

    public MedVaultException(Code code, String message) {
        super(message);
        this.code = code;
    }

    public MedVaultException(Code code, String message, Throwable cause) {
        super(message, cause);
        this.code = code;
    }

    /**
     * Used by the native library, which throws with a message of the form {@code "CODE:message"}.
     */
    MedVaultException(String encoded) {
        this(parseCode(encoded), parseMessage(encoded));
    }

    public Code code() {
        return code;
    }

    @Override
    public String toString() {
        return "MedVaultException[" + code + "]: " + getMessage();
    }

    private static Code parseCode(String encoded) {
        int colon = encoded == null ? -1 : encoded.indexOf(':');
        if (colon > 0) {
            try {
                return Code.valueOf(encoded.substring(0, colon));
            } catch (IllegalArgumentException e) {
                return Code.INTERNAL;
            }
        }
        return Code.INTERNAL;
    }

    private static String parseMessage(String encoded) {
        if (encoded == null) {
            return "native error without a message";
        }
        int colon = encoded.indexOf(':');
        if (colon > 0) {
            try {
                Code.valueOf(encoded.substring(0, colon));
                return encoded.substring(colon + 1);
            } catch (IllegalArgumentException e) {
                return encoded;
            }
        }
        return encoded;
    }
}
