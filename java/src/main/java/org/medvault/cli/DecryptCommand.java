package org.medvault.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.medvault.app.release.QueryService;
import org.medvault.app.release.ReleaseLedger;
import org.medvault.app.release.ReleaseService;
import org.medvault.common.UserException;
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
        out.println("  over " + r.records() + " records; cohorts under " + r.minCohort() + " suppressed");
        if (r.signers() != null) {
            out.println("  released by custodians " + String.join(", ", r.signers().stream().map(String::valueOf).toList())
                    + " of roster " + r.roster());
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
                "It first re-runs the query on YOUR copy of the vault with the server key",
                "and refuses unless the result's ciphertexts are exactly what that derives",
                "(a crafted result could otherwise extract the key); only then is your",
                "share unsealed. Any t partials of one signer set release the result. The",
                "same request always gives the same bytes. No vault whose k is below the",
                "roster's pinned floor is released from. Every distinct squashed block you",
                "release is counted in your ledger (default: SHARE.ledger); past the limit",
                "that keeps the flooding bound, releases are refused. The share's",
                "passphrase comes from --passphrase-file, $MEDVAULT_PASSPHRASE or a prompt."})
    static final class Partial extends BaseCommand {
        @Option(names = "--share", paramLabel = "FILE", required = true, description = "Your custodian-<i>.share.")
        Path share;

        @Option(names = "--result", paramLabel = "FILE", required = true, description = "The .mvr result to release.")
        Path result;

        @Option(names = "--vault", paramLabel = "FILE", required = true,
                description = "Your own copy of the vault (its digest must match the result's).")
        Path vault;

        @Option(names = "--server-key", paramLabel = "FILE|DIR",
                description = "The key set's server.key (with noise squashing), to re-derive the result (required).")
        Path serverKey;

        /** Removed: kept only to say why (a handed-in derivation was decrypted, forged or not). */
        @Option(names = "--derived", paramLabel = "FILE", hidden = true)
        Path derived;

        @Option(names = "--ledger", paramLabel = "FILE",
                description = "Your count of released blocks for this key. Default: SHARE.ledger beside the share.")
        Path ledger;

        @Option(names = "--max-released-blocks", paramLabel = "N",
                description = "Refuse once this many distinct squashed blocks were released (at most and by default "
                        + ReleaseLedger.DEFAULT_LIMIT + ").")
        Long maxBlocks;

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
            if (derived != null) {
                throw UserException.usage("--derived was removed: a derivation handed in as a file is bytes anyone could have"
                        + " chosen (a forged result given as both --result and --derived was decrypted). Give --server-key:"
                        + " the result is always re-derived from your own vault copy");
            }
            if (serverKey == null) {
                throw UserException.usage("give --server-key: the result is re-derived from your vault copy before anything is"
                        + " unsealed");
            }
            ReleaseLedger book = new ReleaseLedger(ledger != null ? ledger : ReleaseLedger.besideShare(share),
                    maxBlocks != null ? maxBlocks : ReleaseLedger.DEFAULT_LIMIT);
            char[] secret = passphrase.obtain(root(), "passphrase for " + share, false);
            ReleaseService.PartialResult r;
            try {
                r = new ReleaseService(progressFor(output)).partial(share, secret, result, vault, serverKey, signers, out, book);
            } finally {
                Passphrases.wipe(secret);
            }
            if (output.json) {
                printJson(r);
                return MedVault.EXIT_OK;
            }
            out().printf(Locale.ROOT, "Custodian %d's partial decryption written to %s (%.1f s, %.1f s of it re-deriving the result)%n",
                    r.custodian(), r.out(), r.seconds(), r.deriveSeconds());
            out().println("  query:   " + r.query());
            out().println("  vault:   sha256 " + r.vaultDigest() + " (" + r.records() + " records; cohorts under " + r.minCohort()
                    + " suppressed)");
            out().println("  outputs: sha256 " + r.outputsDigest() + " (re-derived, identical)");
            out().println("  signers: " + String.join(",", r.signers().stream().map(String::valueOf).toList()) + " of roster " + r.roster());
            out().println("  " + r.outputs() + " outputs, " + r.blocks() + " squashed blocks; signed (Ed25519)");
            out().println("  ledger:  " + r.ledgerBlocks() + " of " + r.ledgerLimit() + " distinct blocks released under this key");
            out().flush();
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "combine", mixinStandardHelpOptions = true,
            description = {"Verify t custodians' partials and print the released statistics.",
                "Each partial's signature is checked against the custodian roster your",
                "vault pinned at creation (--vault) or a key.json you trust (--keys), never",
                "keys the result names, and the roster must have the fingerprint you",
                "were given at the key ceremony (--roster): anyone can sign a roster of",
                "keys they made. Key, roster, outputs, query, vault, threshold and signer",
                "set must match. Fewer than t, duplicates, mixed signer sets or partials",
                "of other outputs are refused."})
    static final class Combine extends BaseCommand {
        @Option(names = "--result", paramLabel = "FILE", required = true, description = "The .mvr result.")
        Path result;

        @Option(names = "--vault", paramLabel = "FILE",
                description = "Your copy of the vault: its pinned custodian roster is trusted.")
        Path vault;

        @Option(names = "--keys", paramLabel = "DIR|key.json",
                description = "Trust the custodian roster of this key.json (with --vault: both must agree).")
        Path keys;

        @Option(names = "--roster", paramLabel = "FINGERPRINT", required = true,
                description = "The custodian roster's fingerprint published at the key ceremony (e.g. 62b0-baaf-27aa-e6f4-…).")
        String roster;

        @Parameters(paramLabel = "PARTIAL", arity = "1..*", description = "The custodians' .mvp files.")
        List<Path> partials;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            return print(this, output, new ReleaseService(progressFor(output)).combine(result, partials, vault, keys, roster));
        }
    }
}
