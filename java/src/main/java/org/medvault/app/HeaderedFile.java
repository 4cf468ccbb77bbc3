package org.medvault.app;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

import org.medvault.common.UserException;

/**
 * The layout MedVault's own files share: a magic line, one JSON header line, then binary content.
 * This splits such a file, naming it in every error.
 */
public record HeaderedFile(byte[] header, int bodyOffset) {
    public static HeaderedFile split(byte[] file, String magic, int maxHeader, String name, String what) {
        byte[] m = magic.getBytes(StandardCharsets.US_ASCII);
        if (file.length < m.length || !Arrays.equals(Arrays.copyOf(file, m.length), m)) {
            throw new UserException(name + " is not a " + what + " (bad magic line)");
        }
        for (int i = m.length; i < Math.min(file.length, m.length + maxHeader); i++) {
            if (file[i] == '\n') {
                return new HeaderedFile(Arrays.copyOfRange(file, m.length, i), i + 1);
            }
        }
        throw new UserException(name + " is corrupt: its header has no end");
    }

    /** magic + header JSON + newline, ready for the body. */
    /** The header line read as JSON into {@code type}; an unreadable header names the file as corrupt. */
    public <T> T header(com.fasterxml.jackson.databind.ObjectMapper json, Class<T> type, String name) {
        try {
            return json.readValue(header, type);
        } catch (java.io.IOException e) {
            throw new UserException(name + " is corrupt: unreadable header");
        }
    }

    public static byte[] join(String magic, String headerJson, byte[] body) {
        byte[] head = (magic + headerJson + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(head, head.length + body.length);
        System.arraycopy(body, 0, out, head.length, body.length);
        return out;
    }
}
