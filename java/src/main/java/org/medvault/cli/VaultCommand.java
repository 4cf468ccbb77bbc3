package org.medvault.cli;

import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

import org.medvault.app.vault.VaultService;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code medvault vault …}: create, inspect, add patients' records to, and withdraw from a vault. */
@Command(name = "vault", mixinStandardHelpOptions = true, description = "Create and manage an encrypted vault.",
        subcommands = {VaultCommand.Init.class, VaultCommand.Info.class, VaultCommand.Kit.class, VaultCommand.Import.class,
            VaultCommand.Withdraw.class, VaultCommand.Reenrol.class, VaultCommand.Export.class})
final class VaultCommand implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "missing subcommand (init, info, kit, import, withdraw, export)");
    }

    /** The --vault option every vault command takes. */
    static final class VaultOption {
        @Option(names = {"-v", "--vault"}, paramLabel = "FILE", required = true, description = "The vault file (SQLite).")
        Path vault;
    }

    @Command(name = "init", mixinStandardHelpOptions = true,
            description = "Create a vault for a schema and a public key. Needs no secret.")
    static final class Init extends BaseCommand {
        @Option(names = "--schema", paramLabel = "FILE", required = true, description = "The vault schema (JSON).")
        Path schema;

        @Option(names = "--public-key", paramLabel = "FILE", required = true, description = "public.key of the vault's key set.")
        Path publicKey;

        @Mixin
        VaultOption vault;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            VaultService.InitResult r = new VaultService(progressFor(output)).init(schema, publicKey, vault.vault);
            if (output.json) {
                printJson(r);
            } else {
                out().printf(Locale.ROOT, "Created vault %s: schema '%s' (%d fields, %d encrypted values and %d blocks per record),"
                        + " key %s, small cells below %d suppressed%n", r.vault(), r.schema(), r.fields(), r.valuesPerRecord(),
                        r.blocksPerRecord(), r.keyId(), r.minCohort());
                if (r.roster() != null) {
                    out().println("  releases need " + r.roster() + " (pinned from key.json)");
                }
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "info", mixinStandardHelpOptions = true,
            description = "Schema, key id, record count, bytes per record and per field, digest.")
    static final class Info extends BaseCommand {
        @Mixin
        VaultOption vault;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            VaultService.InfoResult r = new VaultService(progressFor(output)).info(vault.vault);
            if (output.json) {
                printJson(r);
                return MedVault.EXIT_OK;
            }
            out().println("Vault:       " + r.vault() + " (" + size(r.fileBytes()) + ")");
            out().println("Schema:      " + r.schema() + " (sha256 " + r.schemaSha256().substring(0, 16) + "…)");
            out().println("Key id:      " + r.keyId());
            out().println("Created:     " + r.created());
            out().println("Policy:      cohorts smaller than " + r.minCohort() + " are suppressed");
            out().printf(Locale.ROOT, "Records:     %d in %d chunks from %d batches%n", r.records(), r.chunks(), r.batches());
            out().printf(Locale.ROOT, "Ciphertext:  %s, %.0f B per record%n", size(r.ciphertextBytes()), r.bytesPerRecord());
            out().println("Digest:      " + r.digest());
            out().println("Release:     " + (r.roster() == null ? "personal key (decrypt --key)" : r.roster()));
            if (r.provenance() != null) {
                out().println("Provenance:  " + r.provenance());
            }
            out().println("Fields:");
            for (VaultService.FieldInfo f : r.fields()) {
                out().printf(Locale.ROOT, "  %-12s %-30s %-10s %-10s %3d blocks  %6.0f B/record%n", f.name(), f.type(),
                        f.encrypted(), f.square() == null ? "" : "x²:" + f.square(), f.blocks(), f.bytesPerRecord());
            }
            out().flush();
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "kit", mixinStandardHelpOptions = true,
            description = {"Write the vault's submission kit: layout.json, submission.key and submission.crs, all public.",
                "Patients ('medvault record encrypt --kit') and web portals (node-tfhe) write proven records with it."})
    static final class Kit extends BaseCommand {
        @Mixin
        VaultOption vault;

        @Option(names = {"-o", "--out"}, paramLabel = "DIR", required = true, description = "Directory to write the kit into.")
        Path out;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            org.medvault.app.vault.SubmissionKit k = new VaultService(progressFor(output)).kit(vault.vault, out);
            if (output.json) {
                printJson(java.util.Map.of("kit", out.toString(), "keyId", k.keyId(), "schemaSha256", k.schema().digest()));
            } else {
                out().println("Wrote the submission kit of " + vault.vault + " to " + out + " (layout.json, submission.key, "
                        + "submission.crs; key " + k.keyId().substring(0, 16) + "…)");
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {"Export the vault for a Spark cluster: manifest.json and chunks/part-NNNNN.parquet, one row per",
                "chunk (canonical order, digest, record ids, slots, ciphertexts). All public; the Spark job re-derives the",
                "vault digest from the rows and refuses an export that does not match its manifest."})
    static final class Export extends BaseCommand {
        @Mixin
        VaultOption vault;

        @Option(names = "--parquet", paramLabel = "DIR", required = true,
                description = "New (or empty) directory to write the export into.")
        Path dir;

        @Option(names = "--chunks-per-file", paramLabel = "N", defaultValue = "" + org.medvault.app.vault.VaultExport.DEFAULT_CHUNKS_PER_FILE,
                description = "Chunks per Parquet file, Spark's unit of splitting (default: ${DEFAULT-VALUE}).")
        int chunksPerFile;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            org.medvault.app.vault.VaultExport.Summary r =
                    new org.medvault.app.vault.VaultExport(progressFor(output)).export(vault.vault, dir, chunksPerFile);
            if (output.json) {
                printJson(r);
            } else {
                out().println(String.format(java.util.Locale.ROOT,
                        "Exported %d records in %d chunks (%d Parquet files, %s) to %s in %.1f s; vault digest %s…",
                        r.records(), r.chunks(), r.files(), size(r.bytes()), r.dir(), r.seconds(), r.vaultDigest().substring(0, 16)));
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "import", mixinStandardHelpOptions = true,
            description = {"Add patients' proven record files (from 'medvault record encrypt' or a portal); all or none.",
                "Each proof is verified, every value cast and sanitized and clamped into the schema's ranges",
                "(squares recomputed). A record id already in the vault is refused, naming both sources."})
    static final class Import extends BaseCommand {
        @Mixin
        VaultOption vault;

        @Option(names = "--server-key", paramLabel = "FILE", required = true,
                description = "The key set's server.key (or its directory): sanitizing computes on the records.")
        Path serverKey;

        @Parameters(paramLabel = "RECORD_FILE", arity = "1..*", description = "Record files to add.")
        List<Path> files;

        @Mixin
        IdentityOption identity;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            VaultService service = new VaultService(progressFor(output));
            VaultService.ImportResult r = identity.with(root(), w -> service.importRecords(vault.vault, files, serverKey, w));
            if (output.json) {
                printJson(r);
            } else {
                out().println("Imported " + r.imported().size() + " proven record(s); the vault holds " + r.vaultRecords()
                        + " records.");
                out().println(String.format(java.util.Locale.ROOT,
                        "Per record: proof checked in %.2f s; cast, sanitized and clamped in %.1f s (%d bootstraps); %s stored.",
                        r.verifySeconds(), r.secondsPerRecord(),
                        r.pbsPerRecord(), size((long) r.bytesPerRecord())));
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "withdraw", mixinStandardHelpOptions = true,
            description = "Remove a record from the vault (patient control): no later query sees it.")
    static final class Withdraw extends BaseCommand {
        @Mixin
        VaultOption vault;

        @Option(names = "--record", paramLabel = "ID", required = true, description = "The record id.")
        String record;

        @Mixin
        IdentityOption identity;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            VaultService service = new VaultService(progressFor(output));
            VaultService.WithdrawResult r = identity.with(root(), w -> service.withdraw(vault.vault, record, w));
            if (output.json) {
                printJson(r);
            } else {
                out().println("Withdrew record " + r.recordId() + (r.ciphertextDeleted()
                        ? "; its ciphertext is deleted from the vault file"
                        : "; it is out of every query (its ciphertext shares a batch chunk and stays until that chunk is empty)")
                        + ". The vault holds " + r.vaultRecords() + " records.");
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }

    @Command(name = "reenrol", mixinStandardHelpOptions = true,
            description = {"Let a withdrawn record's id be stored again (the patient re-enrols): batches",
                "skip withdrawn ids until then. Recorded in the vault (signed with --identity)."})
    static final class Reenrol extends BaseCommand {
        @Mixin
        VaultOption vault;

        @Option(names = "--record", paramLabel = "ID", required = true, description = "The record id.")
        String record;

        @Mixin
        IdentityOption identity;

        @Mixin
        OutputOptions output;

        @Override
        int run() {
            VaultService service = new VaultService(progressFor(output));
            VaultService.ReenrolResult r = identity.with(root(), w -> service.reenrol(vault.vault, record, w));
            if (output.json) {
                printJson(r);
            } else {
                out().println("Record " + r.recordId() + " (withdrawn " + r.withdrawn() + ") may be stored again: the next batch"
                        + " that holds it stores it.");
                out().flush();
            }
            return MedVault.EXIT_OK;
        }
    }
}
