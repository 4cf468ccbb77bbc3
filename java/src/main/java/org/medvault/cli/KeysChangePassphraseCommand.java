package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.keys.KeyManager;

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
    OutputOptions output;

    @Override
    int run() {
        char[] oldPass = null;
        char[] newPass = null;
        KeyManager.ChangePassphraseResult r;
        try {
            oldPass = current.obtain(root(), "current passphrase", false);
            newPass = Passphrases.obtain(newFile, Passphrases.ENV_NEW, "--new-passphrase-file", root().env(),
                    root().console(), "new passphrase", true);
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
