package org.medvault.cli;

import java.nio.file.Path;

import picocli.CommandLine.Option;

/** {@code --passphrase-file FILE}: the passphrase of an existing or new secret key file. */
final class PassphraseFileOption {
    @Option(names = "--passphrase-file", paramLabel = "FILE",
            description = "Passphrase from the first line of FILE (else $MEDVAULT_PASSPHRASE, else a prompt).")
    Path file;

    char[] obtain(MedVault root, String what, boolean confirm) {
        return Passphrases.obtain(file, Passphrases.ENV, "--passphrase-file", root.env(), root.console(), what, confirm);
    }
}
