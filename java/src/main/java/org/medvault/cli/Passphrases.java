package org.medvault.cli;

import java.io.Console;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

import org.medvault.app.AtomicFiles;
import org.medvault.common.UserException;

/**
 * Where a passphrase comes from, in this order: a file given on the command line (its first line),
 * an environment variable, or an interactive prompt on the terminal (asked twice when a new
 * passphrase is set). Never echoed, logged or printed.
 */
final class Passphrases {
    static final String ENV = "MEDVAULT_PASSPHRASE";
    static final String ENV_NEW = "MEDVAULT_NEW_PASSPHRASE";

    private Passphrases() {}

    /**
     * @param file    the --...-passphrase-file option, or null
     * @param envName the environment variable to consult
     * @param what    how the prompt names it ("passphrase for client.key")
     * @param confirm ask twice on a prompt (new passphrases)
     */
    static char[] obtain(Path file, String envName, String optionName, Map<String, String> env, Console console,
                         String what, boolean confirm) {
        if (file != null) {
            return fromFile(file, optionName);
        }
        String fromEnv = env.get(envName);
        if (fromEnv != null) {
            if (fromEnv.isEmpty()) {
                throw UserException.usage(envName + " is set but empty");
            }
            return fromEnv.toCharArray();
        }
        if (console == null) {
            throw UserException.usage("no " + what + ": not a terminal, so give " + optionName + " FILE or set " + envName);
        }
        char[] first = console.readPassword("Enter %s: ", what);
        if (first == null || first.length == 0) {
            throw UserException.usage("empty " + what);
        }
        if (confirm) {
            char[] second = console.readPassword("Repeat %s: ", what);
            boolean same = Arrays.equals(first, second);
            if (second != null) {
                Arrays.fill(second, '\0');
            }
            if (!same) {
                Arrays.fill(first, '\0');
                throw new UserException("the two passphrases differ; nothing was written");
            }
        }
        return first;
    }

    private static char[] fromFile(Path file, String optionName) {
        if (!Files.isRegularFile(file)) {
            throw UserException.usage(optionName + " " + file + ": no such file");
        }
        byte[] bytes = AtomicFiles.read(file, "passphrase file");
        try {
            int end = 0;
            while (end < bytes.length && bytes[end] != '\n' && bytes[end] != '\r') {
                end++;
            }
            if (end == 0) {
                throw UserException.usage(optionName + " " + file + ": the first line is empty");
            }
            CharBuffer chars = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes, 0, end));
            char[] out = new char[chars.remaining()];
            chars.get(out);
            Arrays.fill(chars.array(), '\0');
            return out;
        } catch (CharacterCodingException e) {
            throw new UserException(optionName + " " + file + ": not valid UTF-8");
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    static void wipe(char[] passphrase) {
        if (passphrase != null) {
            Arrays.fill(passphrase, '\0');
        }
    }

}
