package org.medvault.app;

import java.io.BufferedReader;
import java.io.FilterReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import org.medvault.common.UserException;

/**
 * Reading the text inputs hospitals hand over (CSV, JSON Lines, FHIR JSON and NDJSON) one way:
 * strict UTF-8 (a malformed byte is a {@link java.nio.charset.CharacterCodingException}, never a
 * replacement character) and no NUL character (binary data, or padding after the content).
 */
public final class TextFiles {
    private TextFiles() {}

    /** A reader of {@code file} as strict UTF-8 that throws {@link NulInText} at the first NUL. */
    public static BufferedReader utf8(Path file) throws IOException {
        return new BufferedReader(new NoNul(new InputStreamReader(Files.newInputStream(file),
                StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT))));
    }

    /** A NUL character in a text input, at a character offset. */
    public static final class NulInText extends IOException {
        private final long offset;

        NulInText(long offset) {
            super("NUL character at character " + offset);
            this.offset = offset;
        }

        /** The error naming {@code file} and where the NUL is. */
        public UserException refusal(Path file) {
            return new UserException(file + ": a NUL character at character " + offset + ": not a text file (binary data,"
                    + " or padding after its content); nothing was read from it");
        }
    }

    /** Passes text through and refuses the first NUL character (text exports never contain one). */
    private static final class NoNul extends FilterReader {
        private long read;

        NoNul(Reader in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            int c = super.read();
            if (c == 0) {
                throw new NulInText(read);
            }
            read += c < 0 ? 0 : 1;
            return c;
        }

        @Override
        public int read(char[] buf, int off, int len) throws IOException {
            int n = super.read(buf, off, len);
            for (int i = 0; i < n; i++) {
                if (buf[off + i] == 0) {
                    throw new NulInText(read + i);
                }
            }
            read += Math.max(n, 0);
            return n;
        }
    }
}
