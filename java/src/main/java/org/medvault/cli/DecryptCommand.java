package org.medvault.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.medvault.app.UserException;
import org.medvault.app.query.QueryService;
import org.medvault.app.query.ReleaseService;
import org.medvault.query.QueryPlan;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "decrypt", mixinStandardHelpOptions = true,
        description = {"Release a query result's statistics.",
            "  decrypt --key client.key RESULT   a personal key decrypts alone",
            "  decrypt partial, decrypt combine  threshold keys: each of t custodians",
            "                                    signs a partial decryption; any t of",
            "                                    one signer set release the result",
            "Suppressed cells (cohorts under the vault's k) stay suppressed: the value",
            "was replaced before encryption ended."},
        subcommands = {DecryptCommand.Partial.class, DecryptCommand.Combine.class})
final class DecryptCommand extends BaseCommand {
    @Option(names = "--key", paramLabel = "FILE|DIR", description = "client.key (or its key directory).")
    Path key;

    @Parameters(paramLabel = "RESULT", arity = "0..1", description = "The .mvr file.")
    Path result;

    @Mixin
    PassphraseFileOption passphrase;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        if (key == null || result == null) {
            throw UserException.usage("decrypt needs --key FILE and a RESULT (or use 'decrypt partial' / 'decrypt combine')");
        }
        char[] secret = passphrase.obtain(root(), "passphrase for " + key, false);
        QueryService.Released r;
        try {
            r = new QueryService(progressFor(output)).decrypt(result, key, secret);
        } finally {
            Passphrases.wipe(secret);
        }
        return print(this, output, r);
    }

    /** The released statistics, as text or JSON. */
    static int print(BaseCommand cmd, OutputOptions output, QueryService.Released r) {
        if (output.json) {
            cmd.printJson(r);
            return MedVault.EXIT_OK;
        }
        PrintWriter out = cmd.out();
        out.println(r.query());
        if (r.signers() != null) {
            out.println("  released by custodians " + String.join(", ", r.signers().stream().map(String::valueOf).toList()));
        }
        for (QueryPlan.Statistic s : r.statistics()) {
            if (s.buckets() != null) {
                out.println("  " + s.label() + ":");
                for (QueryPlan.Bucket b : s.buckets()) {
                    out.printf("    %-20s %s%n", b.range(), b.suppressed() ? "suppressed (< k)" : b.count());
                }
            } else {
                out.printf("  %-28s %s%n", s.label(), s.suppressed() ? "suppressed (cohort < k)" : s.value() == null ? "n/a" : s.value());
            }
        }
        out.flush();
        return MedVault.EXIT_OK;
    }

    @Command(name = "partial", mixinStandardHelpOptions = true,
            description = {"A custodian's signed partial decryption of a threshold result.",
                "It reveals nothing alone; any t partials of the same signer set release",
                "the result. The same request always gives the same bytes. The share's",
                "passphrase comes from --passphrase-file, $MEDVAULT_PASSPHRASE or a prompt."})
    static final class Partial extends BaseCommand {
        @Option(names = "--share", paramLabel = "FILE", required = true, description = "Your custodian-<i>.share.")
        Path share;

        @Option(names = "--result", paramLabel = "FILE", required = true, description = "The .mvr result to release.")
        Path result;

        @Option(names = "--signers", paramLabel = "I,J,…", required = true, split = ",",
                description = "The t custodians who release together (including you), e.g. 1,3,4.")
        List<Integer> signers;

        @Option(names = {"-o", "--out"}, paramLabel = "FILE",
                description = "Where to write the partial. Default: RESULT with .partial-<i>.mvp appended.")
        Path out;

        @Mixin
        PassphraseFileOption passphrase;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            char[] secret = passphrase.obtain(root(), "passphrase for " + share, false);
            ReleaseService.PartialResult r;
            try {
                r = new ReleaseService().partial(share, secret, result, signers, out);
            } finally {
                Passphrases.wipe(secret);
            }
            if (output.json) {
                printJson(r);
                return MedVault.EXIT_OK;
            }
            out().printf(Locale.ROOT, "Custodian %d's partial decryption written to %s (%.1f s)%n", r.custodian(), r.out(), r.seconds());
            out().println("  query:   " + r.query());
            out().println("  result:  sha256 " + r.resultDigest());
            out().println("  signers: " + String.join(",", r.signers().stream().map(String::valueOf).toList()));
            out().println("  " + r.outputs() + " outputs, " + r.blocks() + " squashed blocks; signed (Ed25519)");
            out().flush();
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "combine", mixinStandardHelpOptions = true,
            description = {"Verify t custodians' partials and print the released statistics.",
                "Signatures, key id, result digest, threshold and signer set are checked;",
                "fewer than t, duplicates, mixed signer sets or another result's partials",
                "are refused."})
    static final class Combine extends BaseCommand {
        @Option(names = "--result", paramLabel = "FILE", required = true, description = "The .mvr result.")
        Path result;

        @Option(names = "--keys", paramLabel = "DIR|key.json",
                description = "Trust the custodians' signing keys of this key.json (default: the ones the result names).")
        Path keys;

        @Parameters(paramLabel = "PARTIAL", arity = "1..*", description = "The custodians' .mvp files.")
        List<Path> partials;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            return print(this, output, new ReleaseService().combine(result, partials, keys));
        }
    }
}
