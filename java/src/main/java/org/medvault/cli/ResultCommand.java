package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.release.QueryService;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;
import picocli.CommandLine;

/** {@code medvault result info R}: what an encrypted result holds, without decrypting it. */
@Command(name = "result", mixinStandardHelpOptions = true, description = "Inspect encrypted query results.",
        subcommands = {ResultCommand.Info.class})
final class ResultCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (info)");
    }

    @Command(name = "info", mixinStandardHelpOptions = true, description = "Query, vault digest, key id, time and cost of a result.")
    static final class Info extends BaseCommand {
        @Parameters(paramLabel = "RESULT", description = "The .mvr file.")
        Path file;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            QueryService.ResultInfo r = new QueryService(progressFor(output)).info(file);
            if (output.json) {
                printJson(r);
            } else {
                out().println("Result:   " + r.file());
                out().println("Query:    " + r.query());
                out().println("Vault:    " + r.vault() + " (digest " + r.vaultDigest() + ")");
                out().println("Key id:   " + r.keyId());
                out().println("Created:  " + r.created());
                out().println("Records:  " + r.records() + "; cohorts under " + r.minCohort() + " suppressed");
                out().printf(java.util.Locale.ROOT, "Outputs:  %d encrypted; cost %d PBS in %.1f s%n", r.outputs(), r.pbs(), r.seconds());
                if (r.release() != null) {
                    out().println("Release:  " + r.release());
                }
                out().println("Digest:   " + r.digest() + " (the file)");
                out().println("Signed:   " + r.outputsDigest() + " (outputs digest: what custodians re-derive and sign)");
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }
}
