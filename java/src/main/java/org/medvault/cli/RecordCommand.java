package org.medvault.cli;

import java.nio.file.Path;

import org.medvault.app.vault.VaultService;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code medvault record …}: a patient's own record, encrypted to a file with the public key. */
@Command(name = "record", mixinStandardHelpOptions = true, description = "A patient's own encrypted record.",
        subcommands = {RecordCommand.Encrypt.class})
final class RecordCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (encrypt)");
    }

    @Command(name = "encrypt", mixinStandardHelpOptions = true,
            description = {"Encrypt one record (a JSON object) with a vault's submission kit and prove it (zero-knowledge",
                "proof of encryption, bound to the key, schema and record id) into a record file for",
                "'medvault vault import'. Needs no secret; the kit comes from 'medvault vault kit'."})
    static final class Encrypt extends BaseCommand {
        @Option(names = "--kit", paramLabel = "DIR", required = true,
                description = "The vault's submission kit (layout.json, submission.key, submission.crs).")
        Path kit;

        @Option(names = {"-i", "--in"}, paramLabel = "FILE", required = true, description = "The record: one JSON object.")
        Path in;

        @Option(names = "--id", paramLabel = "ID", description = "Record id (default: the schema's id field, else random).")
        String id;

        @Option(names = {"-o", "--out"}, paramLabel = "FILE", required = true, description = "The record file to write.")
        Path out;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            VaultService.RecordFileResult r = new VaultService(progressFor(output)).encryptRecord(kit, in, id, out);
            if (output.json) {
                printJson(r);
            } else {
                out().println("Encrypted and proved record " + r.recordId() + " to " + r.file() + " (" + size(r.bytes()) + ", key "
                        + r.keyId().substring(0, 16) + "…, proof " + String.format(java.util.Locale.ROOT, "%.1f", r.proveSeconds())
                        + " s)");
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }
}
