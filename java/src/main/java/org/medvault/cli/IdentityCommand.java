package org.medvault.cli;

import java.nio.file.Files;
import java.nio.file.Path;

import org.medvault.app.keys.Identity;
import org.medvault.common.UserException;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code medvault identity …}: Ed25519 identities of the people who write vaults. */
@Command(name = "identity", mixinStandardHelpOptions = true,
        description = {"Make and show identities: an Ed25519 key pair per person. NAME.id is secret",
            "(sealed under your passphrase, mode 0600); NAME.pub is public, with a fingerprint to",
            "read aloud. A key ceremony names the identities that may write its vaults (--writer)."},
        subcommands = {IdentityCommand.Create.class, IdentityCommand.Show.class})
final class IdentityCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (create, show)");
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Make a new identity: NAME.id (secret) and NAME.pub (public) beside it.",
                "The passphrase comes from --passphrase-file, $" + IdentityOption.ENV + " or a prompt",
                "(asked twice); weak ones are refused; --generate-passphrase makes one."})
    static final class Create extends BaseCommand {
        @Option(names = {"-o", "--out"}, paramLabel = "NAME.id", required = true, description = "The secret identity file to write.")
        Path out;

        @Option(names = "--name", paramLabel = "TEXT", required = true, description = "Who this is, e.g. \"Records admin, St. Mary's\".")
        String name;

        @Option(names = "--passphrase-file", paramLabel = "FILE",
                description = "Passphrase from the first line of FILE (else $" + IdentityOption.ENV + ", else a prompt).")
        Path passphraseFile;

        @Mixin
        NewPassphraseOptions newPassphrase;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            newPassphrase.refuseBoth(passphraseFile);
            for (Path p : new Path[] {out, Identity.publicFileOf(out)}) {
                if (Files.exists(p)) { // before a passphrase is asked for, or generated into a file
                    throw new UserException(p + " already exists; an identity is never overwritten");
                }
            }
            char[] secret = newPassphrase.generate != null ? newPassphrase.generated(out.toString())
                    : Passphrases.obtain(passphraseFile, IdentityOption.ENV, "--passphrase-file", root().env(), root().console(),
                            "new passphrase for " + out, true);
            Identity.Public p;
            try {
                newPassphrase.check(secret, "the passphrase for " + out, m -> progress(output.quiet, m));
                p = Identity.create(out, name, secret);
            } finally {
                Passphrases.wipe(secret);
            }
            if (output.json) {
                printJson(p);
                return MedVault.EXIT_OK;
            }
            out().println("Created identity " + p.name() + ": " + out + " (secret, 0600) and " + Identity.publicFileOf(out) + " (public)");
            out().println("  fingerprint " + p.fingerprint() + "  (read it to whoever pins you, e.g. at the key ceremony)");
            out().flush();
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a public identity (NAME.pub) and its fingerprint.")
    static final class Show extends BaseCommand {
        @Parameters(paramLabel = "NAME.pub", description = "The public identity file.")
        Path file;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            Identity.Public p = Identity.readPublic(file);
            if (output.json) {
                printJson(p);
                return MedVault.EXIT_OK;
            }
            out().println("Identity:    " + p.name());
            out().println("Fingerprint: " + p.fingerprint());
            if (p.created() != null) {
                out().println("Created:     " + p.created());
            }
            out().flush();
            return MedVault.EXIT_OK;
        }
    }
}
