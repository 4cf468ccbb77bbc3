package org.medvault.cli;

import java.nio.file.Path;
import java.util.Locale;

import org.medvault.app.keys.KeyManager;
import org.medvault.fhe.FheConfig;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "generate", mixinStandardHelpOptions = true,
        description = {"Generate a personal key set: client.key (secret, passphrase-protected), server.key,",
            "public.key and key.json. Existing keys are never overwritten without --force."})
final class KeysGenerateCommand extends BaseCommand {
    @Option(names = {"-o", "--out"}, paramLabel = "DIR", defaultValue = "${sys:user.home}/.medvault",
            description = "Directory for the key set (created 0700 if missing). Default: ${DEFAULT-VALUE}")
    Path out;

    @Option(names = "--compression", description = "Add compression keys (compact storage of computed results).")
    boolean compression;

    @Option(names = "--noise-squashing", description = "Add the noise-squashing key (needed for threshold release; large).")
    boolean noiseSquashing;

    @Option(names = "--force", description = "Replace existing keys; the old files are moved to DIR/replaced-<time>/.")
    boolean force;

    @Mixin
    PassphraseFileOption passphrase;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        FheConfig config = FheConfig.defaults().withCompression(compression).withNoiseSquashing(noiseSquashing);
        char[] secret = passphrase.obtain(root(), "new passphrase for client.key", true);
        KeyManager.GenerateResult r;
        try {
            if (secret.length < 8) {
                progress(output.quiet, "warning: a passphrase shorter than 8 characters is weak");
            }
            r = new KeyManager(m -> progress(output.quiet, m)).generate(out, config, secret, force);
        } finally {
            Passphrases.wipe(secret);
        }
        if (output.json) {
            printJson(r);
            return MedVault.EXIT_OK;
        }
        out().printf(Locale.ROOT, "Generated key set %s in %s (%.1f s)%n", r.keyId(), r.directory(), r.seconds());
        for (KeyManager.FileInfo f : r.files()) {
            out().printf(Locale.ROOT, "  %-11s %10s  %s%n", f.name(), size(f.bytes()), role(f.name()));
        }
        if (r.replacedInto() != null) {
            out().println("Previous keys kept in " + r.replacedInto());
        }
        out().flush();
        return MedVault.EXIT_OK;
    }

    private static String role(String name) {
        return switch (name) {
            case "client.key" -> "SECRET: decrypts everything; passphrase-protected (Argon2id + AES-256-GCM), mode 0600";
            case "server.key" -> "public: lets an analyst compute on your ciphertexts";
            case "public.key" -> "public: lets anyone encrypt data for you";
            default -> "public: key id, parameters, file digests";
        };
    }
}
