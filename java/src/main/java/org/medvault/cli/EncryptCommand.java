package org.medvault.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.medvault.app.vault.InputFormat;
import org.medvault.app.vault.VaultService;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "encrypt", mixinStandardHelpOptions = true,
        description = {"Encrypt a batch of records into a vault with its public key: CSV, JSON Lines, FHIR R4 Bundles (any"
            + " type) or FHIR Bulk Data NDJSON, from files, directories or globs, all packed into one batch.",
            "One batch is one transaction: on a bad record (without --skip-invalid), an error or a kill, nothing is stored.",
            "Records whose id this same batch already stored are skipped, so re-running an import is harmless.",
            "--dry-run prints the clear values each record would get, encrypting nothing."})
final class EncryptCommand extends BaseCommand {
    @Mixin
    VaultCommand.VaultOption vault;

    @Option(names = {"-i", "--in"}, paramLabel = "PATH", required = true, arity = "1..*",
            description = "Input files, directories (read recursively) or quoted globs ('exports/*.json'); repeatable.")
    List<Path> in;

    @Option(names = "--format", paramLabel = "FORMAT",
            description = "csv, jsonl or fhir for every input (default: from each file's name; .ndjson holding FHIR resources is fhir).")
    String format;

    @Option(names = "--skip-invalid", description = "Store the good records; list every problem of the bad ones in a rejects file.")
    boolean skipInvalid;

    @Option(names = "--rejects", paramLabel = "FILE",
            description = "Where problems are listed (default with --skip-invalid: FIRST_INPUT.rejects.csv).")
    Path rejects;

    @Option(names = "--dry-run", description = "Read and check everything, print each valid record's clear values as CSV;"
            + " encrypt and store nothing.")
    boolean dryRun;

    @Option(names = "--values", paramLabel = "FILE", description = "With --dry-run: write the values CSV here instead of stdout.")
    Path values;

    @Option(names = "--wait", paramLabel = "SECONDS", defaultValue = "600",
            description = "How long to wait while another process writes the vault (default: ${DEFAULT-VALUE}).")
    long waitSeconds;

    @Option(names = "--public-key", paramLabel = "FILE", description = "Check this public key is the vault's before encrypting.")
    Path publicKey;

    @Option(names = "--schema", paramLabel = "FILE", description = "Check this schema is the vault's before encrypting.")
    Path schema;

    @Mixin
    IdentityOption identity;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        InputFormat f = format != null ? InputFormat.parse(format) : null;
        VaultService service = new VaultService(progressFor(output));
        if (dryRun) {
            return dryRun(service, f);
        }
        if (values != null) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--values only goes with --dry-run");
        }
        VaultService.EncryptResult r = identity.with(root(), w -> service.encrypt(vault.vault, in, f,
                new VaultService.EncryptOptions(skipInvalid, rejects, publicKey, schema, java.time.Duration.ofSeconds(waitSeconds), w)));
        if (output.json) {
            printJson(r);
            return MedVault.EXIT_OK;
        }
        out().printf(Locale.ROOT, "Encrypted %d of %d records from %s into %s in %.1f s (%.1f records/s, %.0f B per record)%n",
                r.stored(), r.rowsRead(), r.input(), r.vault(), r.seconds(), r.recordsPerSecond(), r.bytesPerRecord());
        if (r.files().size() > 1) {
            out().println("  " + r.files().size() + " files (" + r.format() + "), one batch");
        }
        if (r.alreadyPresent() > 0) {
            out().println("  " + r.alreadyPresent() + " already stored by this batch earlier (same id), skipped");
        }
        if (r.rejected() > 0) {
            out().println("  " + r.rejected() + " rejected, every problem listed in " + r.rejectsFile());
        }
        printWithdrawn(out(), r.skippedWithdrawn());
        printDefaults(r.defaults());
        out().println("  vault now holds " + r.vaultRecords() + " records; digest " + r.vaultDigest());
        out().flush();
        return MedVault.EXIT_OK;
    }

    private int dryRun(VaultService service, InputFormat f) {
        VaultService.DryRunResult r = service.dryRun(vault.vault, in, f, values, rejects, output.json && values == null ? null : out());
        if (output.json) {
            printJson(r);
            return r.problems().isEmpty() ? MedVault.EXIT_OK : MedVault.EXIT_FAILURE;
        }
        java.io.PrintWriter say = values == null ? err() : out();
        say.printf(Locale.ROOT, "Dry run: %d of %d records valid (%d with problems)%s; nothing encrypted%n", r.valid(), r.rowsRead(),
                r.rejected(), values == null ? "" : ", values in " + values);
        if (r.alreadyPresent() > 0) {
            say.println("  " + r.alreadyPresent() + " already stored by this batch earlier (same id)");
        }
        printWithdrawn(say, r.skippedWithdrawn());
        for (Map.Entry<String, Long> d : r.defaults().entrySet()) {
            say.println("  " + d.getKey() + ": the schema's default for " + d.getValue() + " record(s)");
        }
        r.notes().forEach(n -> say.println("  note: " + n));
        r.problems().stream().limit(50).forEach(p -> say.println("  " + p));
        if (r.problems().size() > 50) {
            say.println("  … and " + (r.problems().size() - 50) + " more" + (r.rejectsFile() == null ? " (--rejects FILE lists all)" : ""));
        }
        if (r.rejectsFile() != null) {
            say.println("  every problem listed in " + r.rejectsFile());
        }
        say.flush();
        return r.problems().isEmpty() ? MedVault.EXIT_OK : MedVault.EXIT_FAILURE;
    }

    /** Records a batch holds that their patients withdrew: skipped, each named once. */
    private static void printWithdrawn(java.io.PrintWriter to, List<VaultService.Withdrawn> withdrawn) {
        if (withdrawn.isEmpty()) {
            return;
        }
        to.println("  " + withdrawn.size() + " skipped: withdrawn by the patient (the withdrawal stands until"
                + " 'medvault vault reenrol --record ID'):");
        withdrawn.stream().limit(20).forEach(w -> to.println("    " + w.id() + " at " + w.where() + ", withdrawn " + w.withdrawn()));
        if (withdrawn.size() > 20) {
            to.println("    … and " + (withdrawn.size() - 20) + " more (--json lists all)");
        }
    }

    private void printDefaults(Map<String, Long> defaults) {
        for (Map.Entry<String, Long> d : defaults.entrySet()) {
            out().println("  " + d.getKey() + ": the schema's default for " + d.getValue() + " record(s) (they count in its"
                    + " sums and averages)");
        }
    }
}
