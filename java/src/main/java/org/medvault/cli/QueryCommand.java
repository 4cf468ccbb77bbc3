package org.medvault.cli;

import java.nio.file.Path;
import java.util.Locale;

import org.medvault.app.release.QueryService;
import org.medvault.query.QueryException;
import org.medvault.query.QueryPlan;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "query", mixinStandardHelpOptions = true,
        description = {"Run statistics over the encrypted vault with the public server key; the result stays encrypted.",
            "SELECT count(*), sum(f), avg(f), var(f), min(f), max(f), histogram(f, lo, hi, n) WHERE …",
            "with = != < <= > >= BETWEEN IN, AND OR NOT, parentheses; constants in the fields' units.",
            "A query that does not fit the schema exits 2 before any FHE work."})
final class QueryCommand extends BaseCommand {
    @Mixin
    VaultCommand.VaultOption vault;

    @Option(names = "--server-key", paramLabel = "FILE|DIR", description = "The vault's server.key (or its key directory).")
    Path serverKey;

    @Option(names = {"-o", "--out"}, paramLabel = "FILE", description = "Where to write the encrypted result (.mvr).")
    Path out;

    @Option(names = "--explain", description = "Print the plan and its estimated cost (bootstraps); run nothing.")
    boolean explain;

    @Parameters(paramLabel = "QUERY", description = "The query, e.g. \"SELECT count(*), avg(bp_sys) WHERE age >= 65\".")
    String query;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        QueryService service = new QueryService(progressFor(output));
        QueryPlan plan;
        try {
            plan = service.plan(vault.vault, query);
        } catch (QueryException e) {
            err().println("medvault: " + e.describe(query));
            err().flush();
            return MedVault.EXIT_USAGE;
        }
        if (explain) {
            if (output.json) {
                printJson(java.util.Map.of("query", query, "records", plan.records(), "estimatedPbsPerRecord",
                        plan.estimatedPbsPerRecord(), "estimatedPbs", plan.estimatedPbsPerRecord() * plan.records(),
                        "steps", plan.costLines(), "outputs", plan.resultCount(), "nativePlan", plan.nativePlan()));
            } else {
                out().println("Plan for: " + query);
                out().println("Per record (predicate once, shared by every aggregate):");
                plan.costLines().forEach(l -> out().println("  " + l));
                out().printf(Locale.ROOT, "Estimated %.1f PBS per record, %.0f for the vault's %d records; %d encrypted outputs;"
                        + " cohorts under %d suppressed.%n", plan.estimatedPbsPerRecord(),
                        plan.estimatedPbsPerRecord() * plan.records(), plan.records(), plan.resultCount(), plan.minCohort());
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
        if (serverKey == null || out == null) {
            throw org.medvault.common.UserException.usage("a query needs --server-key and --out (or --explain)");
        }
        // Ctrl-C (or SIGTERM) stops the JVM mid-query: the result is written atomically at the end,
        // so nothing half-written exists; say so instead of vanishing silently.
        java.util.concurrent.atomic.AtomicBoolean finished = new java.util.concurrent.atomic.AtomicBoolean();
        java.io.PrintWriter err = err();
        Thread onInterrupt = new Thread(() -> {
            if (!finished.get()) {
                err.println();
                err.println("medvault: interrupted; no result written to " + out);
                err.flush();
            }
        });
        Runtime.getRuntime().addShutdownHook(onInterrupt);
        QueryService.RunResult r;
        try {
            r = service.run(vault.vault, serverKey, query, out);
        } finally {
            finished.set(true);
            try {
                Runtime.getRuntime().removeShutdownHook(onInterrupt);
            } catch (IllegalStateException shuttingDown) {
                // already running the hooks
            }
        }
        if (output.json) {
            printJson(r);
        } else {
            out().printf(Locale.ROOT, "Wrote encrypted result %s: %d records in %.1f s (%.2f s/record), %d PBS (%.1f per record;"
                    + " estimated %.1f)%n", r.out(), r.records(), r.seconds(), r.secondsPerRecord(), r.pbs(), r.pbsPerRecord(),
                    r.estimatedPbsPerRecord());
            if (r.squashSeconds() != null) {
                out().printf(Locale.ROOT, "Outputs noise-squashed for threshold release in %.1f s%n", r.squashSeconds());
            }
            out().flush();
        }
        return MedVault.EXIT_OK;
    }
}
