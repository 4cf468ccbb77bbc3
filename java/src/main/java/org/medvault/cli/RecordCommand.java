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
            description = {"Encrypt one record (a JSON object) with the vault's public key into a record file,",
                "for 'medvault vault import'. Needs no secret."})
    static final class Encrypt extends BaseCommand {
        @Option(names = "--schema", paramLabel = "FILE", required = true, description = "The vault schema (JSON).")
        Path schema;

        @Option(names = "--public-key", paramLabel = "FILE", required = true, description = "The vault's public.key.")
        Path publicKey;

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
            VaultService.RecordFileResult r = new VaultService(progressFor(output)).encryptRecord(schema, publicKey, in, id, out);
            if (output.json) {
                printJson(r);
            } else {
                out().println("Encrypted record " + r.recordId() + " to " + r.file() + " (" + size(r.bytes()) + ", key "
                        + r.keyId().substring(0, 16) + "…)");
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }
}
