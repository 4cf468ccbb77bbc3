package org.medvault.cli;

import java.nio.file.Path;
import java.util.Locale;

import org.medvault.app.vault.InputFormat;
import org.medvault.app.vault.VaultService;

import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "encrypt", mixinStandardHelpOptions = true,
        description = {"Encrypt a batch of records (CSV, JSON Lines or a FHIR R4 Bundle) into a vault with its public key.",
            "One batch is one transaction: on a bad row (without --skip-invalid), an error or a kill, nothing is stored.",
            "Rows whose id is already in the vault are skipped, so re-running an import is harmless."})
final class EncryptCommand extends BaseCommand {
    @Mixin
    VaultCommand.VaultOption vault;

    @Option(names = {"-i", "--in"}, paramLabel = "FILE", required = true, description = "The input file.")
    Path in;

    @Option(names = "--format", paramLabel = "FORMAT", description = "csv, jsonl or fhir (default: from the file name).")
    String format;

    @Option(names = "--skip-invalid", description = "Store the good rows; write the bad ones (row, field, reason) to a rejects file.")
    boolean skipInvalid;

    @Option(names = "--rejects", paramLabel = "FILE", description = "Where --skip-invalid writes rejects (default: INPUT.rejects.csv).")
    Path rejects;

    @Option(names = "--public-key", paramLabel = "FILE", description = "Check this public key is the vault's before encrypting.")
    Path publicKey;

    @Option(names = "--schema", paramLabel = "FILE", description = "Check this schema is the vault's before encrypting.")
    Path schema;

    @Mixin
    OutputOptions output;

    @Override
    int run() {
        InputFormat f = format != null ? InputFormat.parse(format) : InputFormat.guess(in);
        VaultService.EncryptResult r = new VaultService(progressFor(output)).encrypt(vault.vault, in, f,
                new VaultService.EncryptOptions(skipInvalid, rejects, publicKey, schema));
        if (output.json) {
            printJson(r);
            return MedVault.EXIT_OK;
        }
        out().printf(Locale.ROOT, "Encrypted %d of %d records from %s into %s in %.1f s (%.1f records/s, %.0f B per record)%n",
                r.stored(), r.rowsRead(), r.input(), r.vault(), r.seconds(), r.recordsPerSecond(), r.bytesPerRecord());
        if (r.alreadyPresent() > 0) {
            out().println("  " + r.alreadyPresent() + " already in the vault (same id), skipped");
        }
        if (r.rejected() > 0) {
            out().println("  " + r.rejected() + " rejected, listed in " + r.rejectsFile());
        }
        out().println("  vault now holds " + r.vaultRecords() + " records; digest " + r.vaultDigest());
        out().flush();
        return MedVault.EXIT_OK;
    }
}
