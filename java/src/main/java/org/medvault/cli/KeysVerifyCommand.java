package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.keys.KeyManager;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "verify", mixinStandardHelpOptions = true,
        description = {"Check that a key directory's files belong together: digests match key.json and every",
            "file carries the same key id. With --check-secret, also decrypt client.key and check it",
            "decrypts what public.key encrypts. Exit code 1 when any check fails."})
final class KeysVerifyCommand extends BaseCommand {
    @Parameters(paramLabel = "DIR", description = "The key directory.")
    Path dir;

    @Option(names = "--check-secret", description = "Also unlock client.key (needs its passphrase).")
    boolean checkSecret;

    @Mixin
    PassphraseFileOption passphrase;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        char[] secret = checkSecret ? passphrase.obtain(root(), "passphrase for " + dir.resolve("client.key"), false) : null;
        KeyManager.VerifyResult r;
        try {
            r = new KeyManager(m -> progress(output.quiet, m)).verify(dir, secret);
        } finally {
            Passphrases.wipe(secret);
        }
        if (output.json) {
            printJson(r);
        } else {
            for (KeyManager.Check c : r.checks()) {
                out().printf("%-4s %-45s %s%n", c.ok() ? "ok" : "FAIL", c.name(), c.detail());
            }
            out().println(r.ok() ? "Key set " + r.keyId() + " verified." : "Key set " + r.keyId() + " FAILED verification.");
            out().flush();
        }
        return r.ok() ? MedVault.EXIT_OK : MedVault.EXIT_FAILURE;
    }
}
