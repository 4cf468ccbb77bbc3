package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.keys.KeyManager;
import org.medvault.common.UserException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "change-passphrase", mixinStandardHelpOptions = true,
        description = "Re-protect a secret key file under a new passphrase (atomically; fresh salt and nonce).")
final class KeysChangePassphraseCommand extends BaseCommand {
    @Parameters(paramLabel = "PATH", description = "client.key, or the key directory holding it.")
    Path path;

    @Mixin
    PassphraseFileOption current;

    @Option(names = "--new-passphrase-file", paramLabel = "FILE",
            description = "New passphrase (else $MEDVAULT_NEW_PASSPHRASE, else a prompt, asked twice).")
    Path newFile;

    @Mixin
    NewPassphraseOptions newPassphrase;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        char[] oldPass = null;
        char[] newPass = null;
        KeyManager.ChangePassphraseResult r;
        try {
            oldPass = current.obtain(root(), "current passphrase", false);
            if (newPassphrase.generate != null && newFile != null) {
                throw UserException.usage("--generate-passphrase and --new-passphrase-file both name the new passphrase; give one");
            }
            newPass = newPassphrase.generate != null ? newPassphrase.generated("client.key")
                    : Passphrases.obtain(newFile, Passphrases.ENV_NEW, "--new-passphrase-file", root().env(),
                    root().console(), "new passphrase", true);
            newPassphrase.check(newPass, "the new passphrase", m -> progress(output.quiet, m));
            r = new KeyManager(m -> progress(output.quiet, m)).changePassphrase(path, oldPass, newPass);
        } finally {
            Passphrases.wipe(oldPass);
            Passphrases.wipe(newPass);
        }
        if (output.json) {
            printJson(r);
        } else {
            out().println("Passphrase of " + r.file() + " (key " + r.keyId() + ") changed.");
            out().flush();
        }
        return MedVault.EXIT_OK;
    }
}
