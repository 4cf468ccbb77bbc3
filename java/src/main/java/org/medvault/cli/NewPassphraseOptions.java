package org.medvault.cli;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

import org.medvault.app.AtomicFiles;
import org.medvault.app.keys.PassphraseStrength;
import org.medvault.common.UserException;

import picocli.CommandLine.Option;

/** How a new passphrase is checked or made: weak ones are refused unless insisted on; or one is generated. */
final class NewPassphraseOptions {
    @Option(names = "--allow-weak-passphrase",
            description = "Accept a new passphrase zxcvbn rates below 3 of 4 (with a warning) instead of refusing it.")
    boolean allowWeak;

    @Option(names = "--generate-passphrase", paramLabel = "FILE",
            description = "Make a random passphrase (150 bits) and write it to FILE (mode 0600, never printed); move it to"
                    + " your password manager.")
    Path generate;

    /** The generated passphrase, written to its file first (an existing file is never overwritten). */
    char[] generated(String whose) {
        if (Files.exists(generate)) {
            throw UserException.usage("--generate-passphrase " + generate + ": the file exists; nothing was written");
        }
        char[] p = PassphraseStrength.generate();
        byte[] bytes = (new String(p) + "\n").getBytes(StandardCharsets.US_ASCII);
        try {
            AtomicFiles.write(generate, bytes, true);
        } finally {
            java.util.Arrays.fill(bytes, (byte) 0);
        }
        return p;
    }

    /** Refuses --generate-passphrase together with a passphrase file: both would name the passphrase. */
    void refuseBoth(Path passphraseFile) {
        if (generate != null && passphraseFile != null) {
            throw UserException.usage("--generate-passphrase and --passphrase-file both name the passphrase; give one");
        }
    }

    void check(char[] passphrase, String whose, Consumer<String> warn) {
        PassphraseStrength.require(passphrase, whose, allowWeak, warn);
    }
}
