package org.medvault.common;

/**
 * A failure the user can act on (a wrong passphrase, a missing file, existing keys), with a message
 * that names the file or option. {@link #isUsage()} marks mistakes in how the command was called.
 */
public class UserException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    private final boolean usage;

    public UserException(String message) {
        this(message, false, null);
    }

    public UserException(String message, Throwable cause) {
        this(message, false, cause);
    }

    private UserException(String message, boolean usage, Throwable cause) {
        super(message, cause);
        this.usage = usage;
    }

    /** A mistake in how the command was called (exit code 2). */
    public static UserException usage(String message) {
        return new UserException(message, true, null);
    }

    public boolean isUsage() {
        return usage;
    }
}
