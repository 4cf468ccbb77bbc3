package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.keys.Identity;

import picocli.CommandLine.Option;

/** {@code --identity NAME.id}: the writer identity that signs what a command stores. */
final class IdentityOption {
    /** Where an identity's passphrase comes from when there is no --identity-passphrase-file. */
    static final String ENV = "MEDVAULT_IDENTITY_PASSPHRASE";

    @Option(names = "--identity", paramLabel = "NAME.id",
            description = {"Your writer identity: every stored chunk is signed with it (a vault of a threshold key set",
                "takes only chunks signed by a writer its custodians pinned)."})
    Path file;

    @Option(names = "--identity-passphrase-file", paramLabel = "FILE",
            description = "The identity's passphrase from the first line of FILE (else $" + ENV + ", else a prompt).")
    Path passphraseFile;

    /** Runs {@code action} with the opened identity (null without --identity), wiped afterwards. */
    <T> T with(MedVault root, java.util.function.Function<Identity, T> action) {
        Identity writer = open(root);
        try {
            return action.apply(writer);
        } finally {
            if (writer != null) {
                writer.wipe();
            }
        }
    }

    /** The opened identity, or null without --identity; the caller wipes it. */
    Identity open(MedVault root) {
        if (file == null) {
            return null;
        }
        char[] secret = Passphrases.obtain(passphraseFile, ENV, "--identity-passphrase-file", root.env(), root.console(),
                "passphrase for identity " + file, false);
        try {
            return Identity.open(file, secret);
        } finally {
            Passphrases.wipe(secret);
        }
    }
}
