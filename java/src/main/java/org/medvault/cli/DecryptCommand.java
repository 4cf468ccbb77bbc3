package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.query.QueryService;
import org.medvault.query.QueryPlan;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "decrypt", mixinStandardHelpOptions = true,
        description = {"Decrypt a query result with a whole client key (personal keys) and print the statistics.",
            "Suppressed cells (cohorts under the vault's k) stay suppressed: the value was replaced before encryption ended."})
final class DecryptCommand extends BaseCommand {
    @Option(names = "--key", paramLabel = "FILE|DIR", required = true, description = "client.key (or its key directory).")
    Path key;

    @Parameters(paramLabel = "RESULT", description = "The .mvr file.")
    Path result;

    @Mixin
    PassphraseFileOption passphrase;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        char[] secret = passphrase.obtain(root(), "passphrase for " + key, false);
        QueryService.Released r;
        try {
            r = new QueryService(progressFor(output)).decrypt(result, key, secret);
        } finally {
            Passphrases.wipe(secret);
        }
        if (output.json) {
            printJson(r);
            return MedVault.EXIT_OK;
        }
        out().println(r.query());
        for (QueryPlan.Statistic s : r.statistics()) {
            if (s.buckets() != null) {
                out().println("  " + s.label() + ":");
                for (QueryPlan.Bucket b : s.buckets()) {
                    out().printf("    %-20s %s%n", b.range(), b.suppressed() ? "suppressed (< k)" : b.count());
                }
            } else {
                out().printf("  %-28s %s%n", s.label(), s.suppressed() ? "suppressed (cohort < k)" : s.value() == null ? "n/a" : s.value());
            }
        }
        out().flush();
        return MedVault.EXIT_OK;
    }
}
