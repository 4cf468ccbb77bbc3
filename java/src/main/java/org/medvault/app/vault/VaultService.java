package org.medvault.app.vault;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.app.keys.Identity;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.app.keys.ServerKeyFiles;
import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.fhe.Ciphertext;
import org.medvault.fhe.ClientKey;
import org.medvault.fhe.CompactCiphertextList;
import org.medvault.fhe.CompactPublicKey;
import org.medvault.fhe.FheRuntime;
import org.medvault.fhe.FheType;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.ServerKey;
import org.medvault.fhe.SubmissionKey;
import org.medvault.schema.FieldSpec;
import org.medvault.schema.VaultSchema;

/**
 * Vault use cases: create a vault, encrypt batches into it with the public key only, add and
 * withdraw single patients' records, describe it. Nobody who adds data needs a secret key.
 */
public final class VaultService {
    /** How many errors an aborted batch lists before "and N more". */
    static final int MAX_LISTED_ERRORS = 10;

    private final Progress progress;

    public VaultService(Progress progress) {
        this.progress = progress;
    }

    // ------------------------------------------------------------------ init

    /** {@code roster}: "t of n, digest" of the pinned custodian roster, or null (personal key). */
    public record InitResult(Path vault, String keyId, String schema, String schemaSha256, int fields,
                             int valuesPerRecord, int blocksPerRecord, int minCohort, String roster) {}

    public InitResult init(Path schemaFile, Path publicKeyFile, Path vaultFile) {
        VaultSchema schema = VaultSchema.parse(AtomicFiles.read(schemaFile, "schema"), schemaFile.toString());
        byte[] pkBytes = AtomicFiles.read(publicKeyFile, "public key");
        String keyId;
        try (CompactPublicKey pk = CompactPublicKey.deserialize(pkBytes)) {
            keyId = pk.keyId();
        } catch (MedVaultException e) {
            throw new UserException(publicKeyFile + " is not a MedVault public key (" + e.getMessage() + ")");
        }
        KeySetManifest manifest = manifestBeside(publicKeyFile, pkBytes, keyId);
        KeySetManifest.Threshold roster = manifest == null || !manifest.hasThreshold() ? null : manifest.threshold();
        if (roster != null && schema.minCohort() < roster.floor()) {
            throw new UserException(schemaFile + " suppresses cohorts under " + schema.minCohort() + ", below the floor of "
                    + roster.floor() + " the custodians pinned at the key ceremony (roster " + roster.fingerprint(keyId)
                    + "): no custodian would release from this vault; raise policy.minCohort to at least " + roster.floor());
        }
        byte[][] submission = submissionBeside(publicKeyFile, keyId);
        // The server key's digest: the vault pins it, and queries, partials and imports refuse a
        // server key that differs.
        KeySetManifest.FileDigest serverKey = manifest == null ? null : manifest.files().get(KeySetManifest.SERVER_KEY);
        String serverKeySha256 = serverKey == null ? null : serverKey.sha256();
        try (VaultStore store = VaultStore.create(vaultFile, schema, pkBytes, keyId, serverKeySha256, roster, submission[0],
                submission[1])) {
            return new InitResult(vaultFile, keyId, schema.name(), schema.digest(), schema.fields().size(),
                    schema.recordLayout().size(), schema.blocksPerRecord(), schema.minCohort(), describe(roster, keyId));
        }
    }

    /** "any t of n custodians, roster FINGERPRINT, cohort floor K", or null. */
    private static String describe(KeySetManifest.Threshold roster, String keyId) {
        return roster == null ? null : "any " + roster.threshold() + " of " + roster.custodians() + " custodians, roster "
                + roster.fingerprint(keyId) + ", cohort floor " + roster.floor();
    }

    /**
     * The key.json beside a public key, or null when there is none. It must describe this very
     * public key (key id and file digest); a threshold key set's roster must carry every
     * custodian's signature (the vault pins the roster, and every release is checked against it).
     */
    private static KeySetManifest manifestBeside(Path publicKeyFile, byte[] pkBytes, String keyId) {
        Path manifest = publicKeyFile.toAbsolutePath().resolveSibling(KeySetManifest.FILE_NAME);
        if (!java.nio.file.Files.isRegularFile(manifest)) {
            return null;
        }
        KeySetManifest m = KeySetManifest.parse(AtomicFiles.read(manifest, "key manifest"), manifest.toString());
        if (!m.keyId().equals(keyId)) {
            throw new UserException(manifest + " describes key " + m.keyId() + ", not " + publicKeyFile + " (key " + keyId + ")");
        }
        KeySetManifest.FileDigest d = m.files().get(KeySetManifest.PUBLIC_KEY);
        if (d == null || !d.sha256().equals(Digests.sha256(pkBytes))) {
            throw new UserException(manifest + " does not list " + publicKeyFile + "'s digest; the two do not belong together");
        }
        if (m.hasThreshold()) {
            m.threshold().verify(keyId, manifest.toString());
        }
        return m;
    }

    /**
     * The submission key and CRS beside public.key (the key ceremony writes them there): the vault
     * pins them, and verifies every submitted record's proof with them.
     */
    private static byte[][] submissionBeside(Path publicKeyFile, String keyId) {
        Path dir = publicKeyFile.toAbsolutePath().getParent();
        Path keyFile = dir.resolve(KeySetManifest.SUBMISSION_KEY);
        Path crsFile = dir.resolve(KeySetManifest.SUBMISSION_CRS);
        if (!java.nio.file.Files.isRegularFile(keyFile) || !java.nio.file.Files.isRegularFile(crsFile)) {
            throw new UserException(publicKeyFile + ": no " + KeySetManifest.SUBMISSION_KEY + " and " + KeySetManifest.SUBMISSION_CRS
                    + " beside it (key sets made before proven submissions have none: generate a new key set)");
        }
        byte[] key = AtomicFiles.read(keyFile, "submission key");
        byte[] crs = AtomicFiles.read(crsFile, "submission CRS");
        try (SubmissionKey sub = SubmissionKey.load(key, crs)) {
            if (!sub.keyId().equals(keyId)) {
                throw new UserException(keyFile + " belongs to key " + sub.keyId() + ", not to " + publicKeyFile + " (key " + keyId + ")");
            }
        } catch (MedVaultException e) {
            throw new UserException(keyFile + " / " + crsFile + ": not a MedVault submission key and CRS (" + e.getMessage() + ")");
        }
        return new byte[][] {key, crs};
    }

    /** Writes the vault's submission kit (layout, submission key, CRS) for patients and portals. */
    public SubmissionKit kit(Path vaultFile, Path outDir) {
        try (VaultStore store = VaultStore.open(vaultFile)) {
            byte[][] sub = store.submissionKey();
            SubmissionKit kit = new SubmissionKit(store.keyId(), store.schema(), sub[0], sub[1]);
            kit.write(outDir);
            return kit;
        }
    }

    // ------------------------------------------------------------------ batch encryption

    /** How long a writer waits for another process writing the same vault, unless told otherwise. */
    public static final java.time.Duration DEFAULT_WAIT = java.time.Duration.ofMinutes(10);

    /** {@code waitForWriter}: how long to wait for another process writing the vault (then refuse, storing nothing). */
    /** {@code writer}: the identity that signs every stored chunk (required by a threshold vault; null for none). */
    public record EncryptOptions(boolean skipInvalid, Path rejectsFile, Path publicKeyFile, Path schemaFile,
                                 java.time.Duration waitForWriter, Identity writer) {
        public EncryptOptions(boolean skipInvalid, Path rejectsFile, Path publicKeyFile, Path schemaFile) {
            this(skipInvalid, rejectsFile, publicKeyFile, schemaFile, DEFAULT_WAIT, null);
        }

        public EncryptOptions(boolean skipInvalid, Path rejectsFile, Path publicKeyFile, Path schemaFile,
                              java.time.Duration waitForWriter) {
            this(skipInvalid, rejectsFile, publicKeyFile, schemaFile, waitForWriter, null);
        }
    }

    /**
     * {@code defaults}: per field, how many stored records were empty there and took the schema's
     * default (so an average over that field is known to contain them).
     */
    public record EncryptResult(Path vault, String input, List<Path> files, String format, long rowsRead, long stored,
                                long alreadyPresent, long rejected, Map<String, Long> defaults, List<String> notes, long chunks,
                                long bytesStored, double seconds, double recordsPerSecond, double bytesPerRecord, Path rejectsFile,
                                long vaultRecords, String vaultDigest, List<Withdrawn> skippedWithdrawn) {}

    /** A record a batch held but did not store: the patient withdrew it (at {@code withdrawn}) and has not re-enrolled. */
    public record Withdrawn(String id, String where, String withdrawn) {}

    private record GoodRow(String id, long[] values, List<String> defaulted) {}

    /** Pass 1 of a batch: every row read, encoded and checked against the vault's ids. */
    private record Batch(List<GoodRow> good, List<InputError> errors, List<String> clashes, long rowsRead, long alreadyPresent,
                         Map<String, Long> defaults, InputReader.Summary summary, String source, List<Withdrawn> withdrawn) {
        long rejectedRecords() {
            return errors.stream().map(e -> e.file() + "\0" + e.row()).distinct().count();
        }
    }

    public EncryptResult encrypt(Path vaultFile, Path input, InputFormat format, EncryptOptions options) {
        return encrypt(vaultFile, List.of(input), format, options);
    }

    /** Reads, checks and encodes every input (files, directories, globs), then stores them as one batch. */
    public EncryptResult encrypt(Path vaultFile, List<Path> inputs, InputFormat format, EncryptOptions options) {
        long start = System.nanoTime();
        try (VaultStore.WriteLock lock = VaultStore.lockForWriting(vaultFile, options.waitForWriter(), progress);
             VaultStore store = VaultStore.open(vaultFile)) {
            VaultSchema schema = store.schema();
            checkOverrides(store, schema, options);
            store.checkWriter(options.writer()); // before any reading or FHE work
            RecordCodec codec = new RecordCodec(schema);
            // Pass 1: parse and encode every row, so a bad row stops the batch before any FHE work.
            Batch batch = readBatch(store, codec, inputs, format);
            String input = describe(inputs);
            if (!batch.clashes().isEmpty()) {
                throw new UserException(batch.clashes().size() + " record id(s) of " + input + " belong to records another"
                        + " source stored; nothing was stored (withdraw them, or give these rows other ids):"
                        + listed(batch.clashes()));
            }
            List<InputError> errors = batch.errors();
            if (!errors.isEmpty() && !options.skipInvalid()) {
                StringBuilder sb = new StringBuilder(errors.size() + " problem" + (errors.size() == 1 ? "" : "s") + " in "
                        + batch.rejectedRecords() + " of " + batch.rowsRead() + " records of " + input
                        + "; nothing was stored (--skip-invalid stores the good records):");
                errors.stream().limit(MAX_LISTED_ERRORS).forEach(err -> sb.append("\n  ").append(err.message()));
                if (errors.size() > MAX_LISTED_ERRORS) {
                    sb.append("\n  … and ").append(errors.size() - MAX_LISTED_ERRORS).append(" more (--dry-run --rejects FILE lists all)");
                }
                throw new UserException(sb.toString());
            }
            Path rejects = null;
            List<GoodRow> good = batch.good();
            if (!errors.isEmpty()) {
                rejects = rejectsPath(options.rejectsFile(), inputs);
                writeRejects(rejects, errors);
                progress.note(batch.rejectedRecords() + " invalid record(s) skipped; see " + rejects);
                if (good.isEmpty() && batch.alreadyPresent() == 0) {
                    throw new UserException("none of the " + batch.rowsRead() + " records of " + input + " is valid; nothing was"
                            + " stored; every problem is listed in " + rejects);
                }
            }
            for (String n : batch.summary().notes()) {
                progress.note(n);
            }

            // Pass 2: encrypt full chunks in parallel (one mask per ~2048 blocks), store in one transaction.
            long chunks = 0;
            long bytes = 0;
            if (!good.isEmpty()) {
                try (CompactPublicKey pk = CompactPublicKey.deserialize(store.publicKey())) {
                    long[] r = storeBatch(store, pk, codec, good, batch.source(), options.writer());
                    chunks = r[0];
                    bytes = r[1];
                }
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            VaultStore.Stats stats = store.stats();
            return new EncryptResult(vaultFile, input, batch.summary().files(), formatName(format, batch.summary().files()),
                    batch.rowsRead(), good.size(), batch.alreadyPresent(), batch.rejectedRecords(), batch.defaults(),
                    batch.summary().notes(), chunks, bytes, seconds, good.size() / seconds,
                    good.isEmpty() ? 0 : (double) bytes / good.size(), rejects, stats.records(), store.digest(), batch.withdrawn());
        }
    }

    /**
     * A dry run: the clear values each valid record would be stored with ({@code records}: field →
     * value in the field's units, plus the id and "defaults"), and every problem; nothing is encrypted.
     */
    public record DryRunResult(Path vault, String input, List<Path> files, long rowsRead, long valid, long alreadyPresent,
                               long rejected, Map<String, Long> defaults, List<String> notes, Path valuesFile, Path rejectsFile,
                               List<String> problems, List<Map<String, String>> records, List<Withdrawn> skippedWithdrawn) {}

    /**
     * Reads and checks the inputs exactly as {@link #encrypt} would, and gives the values each valid
     * record would get (decoded back from what would be encrypted), also as CSV to {@code valuesOut}
     * (a file) or {@code stdout} (when not null).
     */
    public DryRunResult dryRun(Path vaultFile, List<Path> inputs, InputFormat format, Path valuesOut, Path rejectsOut,
                               java.io.PrintWriter stdout) {
        try (VaultStore store = VaultStore.open(vaultFile)) {
            VaultSchema schema = store.schema();
            RecordCodec codec = new RecordCodec(schema);
            Batch batch = readBatch(store, codec, inputs, format);
            String idColumn = schema.idField() == null ? "record_id" : schema.idField();
            List<Map<String, String>> records = new ArrayList<>();
            StringBuilder sb = new StringBuilder(csv(idColumn));
            for (FieldSpec f : schema.fields()) {
                sb.append(',').append(csv(f.name()));
            }
            sb.append(",defaults\n");
            for (GoodRow g : batch.good()) {
                Map<String, String> rec = new LinkedHashMap<>();
                rec.put(idColumn, g.id());
                int i = 0;
                for (FieldSpec f : schema.fields()) {
                    rec.put(f.name(), f.display(g.values()[i]));
                    i += f.hasSquare() ? 2 : 1;
                }
                rec.put("defaults", String.join(";", g.defaulted()));
                records.add(rec);
                sb.append(String.join(",", rec.values().stream().map(VaultService::csv).toList())).append('\n');
            }
            if (valuesOut != null) {
                AtomicFiles.write(valuesOut, sb.toString().getBytes(StandardCharsets.UTF_8), false);
            } else if (stdout != null) {
                stdout.print(sb);
                stdout.flush();
            }
            Path rejects = null;
            if (!batch.errors().isEmpty() && rejectsOut != null) {
                rejects = rejectsOut;
                writeRejects(rejects, batch.errors());
            }
            List<String> problems = new ArrayList<>(batch.clashes());
            batch.errors().forEach(e -> problems.add(e.message()));
            return new DryRunResult(vaultFile, describe(inputs), batch.summary().files(), batch.rowsRead(), batch.good().size(),
                    batch.alreadyPresent(), batch.rejectedRecords(), batch.defaults(), batch.summary().notes(), valuesOut,
                    rejects, problems, records, batch.withdrawn());
        }
    }

    private Batch readBatch(VaultStore store, RecordCodec codec, List<Path> inputs, InputFormat format) {
        VaultSchema schema = codec.schema();
        List<GoodRow> good = new ArrayList<>();
        List<InputError> errors = new ArrayList<>();
        Map<String, String> seen = new HashMap<>();
        Map<String, Long> defaults = new java.util.TreeMap<>();
        long[] counts = new long[2]; // rows read, already in the vault
        // The batch's source names the inputs as given, without their directories (as before: a rerun from
        // another working directory still resumes its own batch).
        String source = "encrypt " + inputs.stream().map(p -> p.getFileName() == null ? p.toString() : p.getFileName().toString())
                .collect(java.util.stream.Collectors.joining(", "));
        List<String> clashes = new ArrayList<>();
        List<Withdrawn> withdrawn = new ArrayList<>();
        InputReader.Summary summary = InputReader.readAll(inputs, format, schema, row -> {
            counts[0]++;
            RecordCodec.Encoded e = codec.encode(row);
            if (!e.ok()) {
                errors.addAll(e.errors());
                return;
            }
            String id = row.id();
            if (id != null) {
                String first = seen.putIfAbsent(id, row.file() + " " + row.where());
                if (first != null) {
                    errors.add(new InputError(row.file(), row.row(), row.where(), id, null,
                            "duplicate record id '" + id + "' (first at " + first + ")"));
                    return;
                }
                String gone = store.withdrawnAt(id);
                if (gone != null) { // the patient's withdrawal sticks until the patient re-enrols
                    withdrawn.add(new Withdrawn(id, row.file() + " " + row.where(), gone));
                    return;
                }
                String from = store.batchSourceOf(id);
                if (from != null) {
                    if (!from.equals(source)) { // another source's record: never shadowed, never skipped
                        clashes.add(row.file() + " " + row.where() + ": record id '" + id + "' is already in the vault from "
                                + store.sourceOf(id));
                        return;
                    }
                    counts[1]++; // stored by an earlier run of this same batch (resumed)
                    return;
                }
            } else {
                id = "r-" + UUID.randomUUID();
            }
            for (String f : e.defaulted()) {
                defaults.merge(f, 1L, Long::sum);
            }
            good.add(new GoodRow(id, e.values(), e.defaulted()));
        });
        if (counts[0] == 0) {
            throw new UserException(describe(inputs) + ": no records in the input");
        }
        return new Batch(good, errors, clashes, counts[0], counts[1], defaults, summary, source, withdrawn);
    }

    /** The inputs as the user named them: "a.csv", "exports/ (2 inputs)". */
    private static String describe(List<Path> inputs) {
        return inputs.stream().map(Path::toString).collect(java.util.stream.Collectors.joining(", "));
    }

    private static String formatName(InputFormat format, List<Path> files) {
        if (format != null) {
            return format.name().toLowerCase(java.util.Locale.ROOT);
        }
        return files.stream().map(f -> InputFormat.guess(f).name().toLowerCase(java.util.Locale.ROOT)).distinct()
                .collect(java.util.stream.Collectors.joining("+"));
    }

    private static Path rejectsPath(Path given, List<Path> inputs) {
        if (given != null) {
            return given;
        }
        Path first = inputs.get(0).toAbsolutePath().normalize();
        String name = first.getFileName() == null ? "input" : first.getFileName().toString().replaceAll("[*?\\[\\]]", "_");
        return first.resolveSibling(name + ".rejects.csv");
    }

    private static void checkOverrides(VaultStore store, VaultSchema schema, EncryptOptions options) {
        if (options.schemaFile() != null) {
            VaultSchema given = VaultSchema.parse(AtomicFiles.read(options.schemaFile(), "schema"), options.schemaFile().toString());
            if (!given.digest().equals(schema.digest())) {
                throw new UserException(options.schemaFile() + " is not the schema of vault " + store.file()
                        + " (schema digests differ)");
            }
        }
        if (options.publicKeyFile() != null) {
            try (CompactPublicKey pk = CompactPublicKey.deserialize(AtomicFiles.read(options.publicKeyFile(), "public key"))) {
                if (!pk.keyId().equals(store.keyId())) {
                    throw new UserException(options.publicKeyFile() + " is key " + pk.keyId() + ", but vault " + store.file()
                            + " is encrypted under key " + store.keyId());
                }
            } catch (MedVaultException e) {
                throw new UserException(options.publicKeyFile() + " is not a MedVault public key (" + e.getMessage() + ")");
            }
        }
    }

    /**
     * Records per chunk: a compact list spends one 2048-coefficient mask per 2048 blocks, so pick the
     * number of masks (1 to 8) whose chunk wastes the smallest share of its last mask.
     */
    static int recordsPerChunk(VaultSchema schema) {
        int blocks = schema.blocksPerRecord();
        int best = Math.max(1, 2048 / blocks);
        double bestFill = (double) best * blocks / (2048.0 * Math.ceil(best * blocks / 2048.0));
        for (int masks = 2; masks <= 8; masks++) {
            int n = masks * 2048 / blocks;
            double fill = n == 0 ? 0 : (double) n * blocks / (2048.0 * masks);
            if (fill > bestFill + 0.005) {
                best = n;
                bestFill = fill;
            }
        }
        return best;
    }

    /** Encrypts and stores rows as one transaction; returns {chunks, bytes}. */
    private long[] storeBatch(VaultStore store, CompactPublicKey pk, RecordCodec codec, List<GoodRow> rows, String source,
                              Identity writer) {
        int perChunk = recordsPerChunk(codec.schema());
        int nChunks = (rows.size() + perChunk - 1) / perChunk;
        int workers = Math.max(1, Math.min(FheRuntime.threads(), nChunks));
        ExecutorService pool = Executors.newFixedThreadPool(workers, r -> {
            Thread t = new Thread(r, "medvault-encrypt");
            t.setDaemon(true);
            return t;
        });
        long batch = store.beginBatch(source);
        boolean committed = false;
        progress.begin("encrypting", rows.size());
        try {
            List<Future<byte[]>> pending = new ArrayList<>();
            long bytes = 0;
            int next = 0; // next chunk to submit
            for (int c = 0; c < nChunks; c++) {
                while (next < nChunks && next < c + 2 * workers) {
                    int from = next * perChunk;
                    int to = Math.min(rows.size(), from + perChunk);
                    List<GoodRow> part = rows.subList(from, to);
                    pending.add(pool.submit(() -> encryptChunk(pk, codec, part)));
                    next++;
                }
                byte[] list = pending.get(c).get();
                pending.set(c, null);
                int from = c * perChunk;
                int to = Math.min(rows.size(), from + perChunk);
                store.insertChunk(batch, list, rows.subList(from, to).stream().map(GoodRow::id).toList(), writer);
                bytes += list.length;
                progress.advance(to);
            }
            store.finishBatch(batch, rows.size(), writer);
            committed = true;
            return new long[] {nChunks, bytes};
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException("interrupted; nothing was stored");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new UserException("encryption failed: " + cause, cause);
        } finally {
            if (!committed) {
                store.rollback();
            }
            progress.end();
            pool.shutdownNow();
        }
    }

    private static byte[] encryptChunk(CompactPublicKey pk, RecordCodec codec, List<GoodRow> rows) {
        CompactCiphertextList.Builder b = pk.listBuilder();
        List<FheType<?>> layout = codec.layout();
        for (GoodRow r : rows) {
            for (int i = 0; i < layout.size(); i++) {
                b.push(layout.get(i), r.values()[i]);
            }
        }
        try (CompactCiphertextList list = b.build()) {
            return list.serialize();
        }
    }

    /** One line per problem; every column filled ("(none)" for a record without id, "(record)" for the whole record). */
    private static void writeRejects(Path file, List<InputError> errors) {
        StringBuilder sb = new StringBuilder("file,row,where,record_id,field,reason\n");
        for (InputError e : errors) {
            sb.append(csv(e.file())).append(',').append(e.row()).append(',').append(csv(e.where())).append(',')
                    .append(csv(e.recordId() == null ? "(none)" : e.recordId())).append(',')
                    .append(csv(e.field() == null ? "(record)" : e.field())).append(',').append(csv(e.reason())).append('\n');
        }
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8), false);
    }

    private static String csv(String s) {
        return s.contains(",") || s.contains("\"") || s.contains("\n") ? "\"" + s.replace("\"", "\"\"") + "\"" : s;
    }

    // ------------------------------------------------------------------ a patient's own record

    public record RecordFileResult(Path file, String recordId, String keyId, String schemaSha256, long bytes,
                                   double proveSeconds) {}

    /**
     * Encrypts one record (a JSON object) with a vault's submission kit and proves it, into a file a
     * patient can hand to the vault admin. Needs no secret.
     */
    public RecordFileResult encryptRecord(Path kitDir, Path input, String idOverride, Path out) {
        SubmissionKit kit = SubmissionKit.read(kitDir);
        VaultSchema schema = kit.schema();
        RecordCodec codec = new RecordCodec(schema);
        List<InputRow> rows = new ArrayList<>();
        InputReader.read(input, InputFormat.JSONL, schema, rows::add);
        if (rows.size() != 1) {
            throw new UserException(input + ": a record file holds exactly one JSON object on one line, found " + rows.size());
        }
        InputRow row = rows.get(0);
        checkKnownKeys(input, schema);
        RecordCodec.Encoded e = codec.encode(row);
        if (!e.ok()) {
            StringBuilder sb = new StringBuilder("invalid record, nothing written:");
            e.errors().forEach(err -> sb.append("\n  ").append(err.message()));
            throw new UserException(sb.toString());
        }
        String id = idOverride != null ? idOverride : row.id() != null ? row.id() : "r-" + UUID.randomUUID();
        try (SubmissionKey sub = SubmissionKey.load(kit.submissionKey(), kit.crs())) {
            if (!sub.keyId().equals(kit.keyId())) {
                throw new UserException(kitDir + ": its submission key is key " + sub.keyId() + ", its layout says " + kit.keyId());
            }
            progress.note("encrypting and proving record " + id);
            long t0 = System.nanoTime();
            byte[] list = sub.prove(codec.layout(), e.values(), RecordFile.metadata(kit.keyId(), schema.digest(), id));
            double seconds = (System.nanoTime() - t0) / 1e9;
            RecordFile rf = new RecordFile(id, kit.keyId(), schema.digest(), list);
            byte[] bytes = rf.toBytes();
            AtomicFiles.write(out, bytes, false);
            return new RecordFileResult(out, id, kit.keyId(), schema.digest(), bytes.length, seconds);
        } catch (MedVaultException ex) {
            throw new UserException(kitDir + ": " + ex.getMessage());
        }
    }

    /**
     * A patient's record names only the schema's fields and its id: a misspelt key would otherwise
     * leave its field empty (refused, or worse, silently given the default).
     */
    private static void checkKnownKeys(Path input, VaultSchema schema) {
        com.fasterxml.jackson.databind.JsonNode node;
        try {
            node = new com.fasterxml.jackson.databind.ObjectMapper().readTree(AtomicFiles.read(input, "record"));
        } catch (java.io.IOException e) {
            return; // the reader has reported what is wrong with it
        }
        List<String> unknown = new ArrayList<>();
        for (java.util.Iterator<String> it = node.fieldNames(); it.hasNext();) {
            String k = it.next();
            if (schema.field(k) == null && !k.equals(schema.idField())) {
                unknown.add(k);
            }
        }
        if (!unknown.isEmpty()) {
            throw new UserException(input + ": unknown field(s) " + String.join(", ", unknown) + " (the schema has "
                    + String.join(", ", schema.fields().stream().map(FieldSpec::name).toList())
                    + (schema.idField() == null ? "" : " and the id " + schema.idField()) + "); nothing written");
        }
    }

    /** Per record: {@code verifySeconds} checking the proof alone, {@code secondsPerRecord} casting, sanitizing, clamping. */
    public record ImportResult(Path vault, List<String> imported, long vaultRecords, String vaultDigest, double seconds,
                               double verifySeconds, double secondsPerRecord, long pbsPerRecord, double bytesPerRecord) {}

    /**
     * Adds patients' proven record files, all or none (one transaction). Each is verified against
     * the vault's pinned submission key (proof bound to key id, schema digest and record id), cast
     * and sanitized block by block, clamped into the schema's ranges with its squares recomputed
     * (so no value outside the declared range reaches an aggregate), then stored. A record id that
     * is already in the vault, or in two of the files, is refused with both sources named.
     */
    public ImportResult importRecords(Path vaultFile, List<Path> files, Path serverKeyFile) {
        return importRecords(vaultFile, files, serverKeyFile, null);
    }

    /** As above, every stored record signed by {@code writer} (required by a threshold vault). */
    public ImportResult importRecords(Path vaultFile, List<Path> files, Path serverKeyFile, Identity writer) {
        long start = System.nanoTime();
        try (VaultStore.WriteLock lock = VaultStore.lockForWriting(vaultFile, DEFAULT_WAIT, progress);
             VaultStore store = VaultStore.open(vaultFile)) {
            store.checkWriter(writer);
            VaultSchema schema = store.schema();
            List<RecordFile> loaded = new ArrayList<>();
            List<String> problems = new ArrayList<>();
            Map<String, Path> seen = new HashMap<>();
            for (Path f : files) {
                RecordFile rf = RecordFile.parse(AtomicFiles.read(f, "record file"), f.toString());
                if (!rf.keyId().equals(store.keyId())) {
                    throw new UserException(f + " is encrypted under key " + rf.keyId() + ", the vault under " + store.keyId());
                }
                if (!rf.schemaSha256().equals(schema.digest())) {
                    throw new UserException(f + " was made with another schema than vault " + vaultFile);
                }
                Path first = seen.putIfAbsent(rf.recordId(), f);
                String existing = store.sourceOf(rf.recordId());
                String gone = store.withdrawnAt(rf.recordId());
                if (first != null) {
                    problems.add(f + ": record id '" + rf.recordId() + "' is also the id of " + first);
                } else if (gone != null) {
                    problems.add(f + ": record id '" + rf.recordId() + "' was withdrawn " + gone + "; it stays out until the patient"
                            + " re-enrols ('medvault vault reenrol --record " + rf.recordId() + "')");
                } else if (existing != null) {
                    problems.add(f + ": record id '" + rf.recordId() + "' is already in the vault from " + existing);
                }
                loaded.add(rf);
            }
            if (!problems.isEmpty()) {
                throw new UserException(problems.size() + " record id clash(es); nothing was imported (a record is"
                        + " replaced only by withdrawing it first):" + listed(problems));
            }
            List<byte[]> stored = new ArrayList<>();
            byte[][] sub = store.submissionKey();
            List<FheType<?>> layout = schema.recordLayout();
            long[] maxima = schema.slotMaxima();
            int[] squares = schema.squareSlots();
            long pbs0;
            long t0;
            double verifySeconds;
            try (SubmissionKey submission = SubmissionKey.load(sub[0], sub[1])) {
                // Every proof first (no server key needed): a bad file is refused before any costly work.
                long tv = System.nanoTime();
                for (int i = 0; i < loaded.size(); i++) {
                    RecordFile rf = loaded.get(i);
                    refusing(files.get(i), rf, () -> submission.verify(rf.list(), rf.metadata(), layout, maxima, squares));
                }
                verifySeconds = (System.nanoTime() - tv) / 1e9;
                ServerKeyFiles.Loaded key = ServerKeyFiles.load(serverKeyFile, store.keyId(), store.serverKeyDigest(), progress);
                pbs0 = FheRuntime.pbsCount();
                t0 = System.nanoTime();
                try (ServerKey sk = key.key()) {
                    progress.begin("verifying and sanitizing", loaded.size());
                    for (int i = 0; i < loaded.size(); i++) {
                        RecordFile rf = loaded.get(i);
                        refusing(files.get(i), rf, () -> stored.add(submission.sanitize(sk, rf.list(), rf.metadata(), layout,
                                maxima, squares)));
                        progress.advance(i + 1);
                    }
                } finally {
                    progress.end();
                }
            }
            double sanitizeSeconds = (System.nanoTime() - t0) / 1e9;
            long pbs = FheRuntime.pbsCount() - pbs0;
            List<String> imported = new ArrayList<>();
            long bytes = 0;
            boolean committed = false;
            try {
                for (int i = 0; i < loaded.size(); i++) {
                    RecordFile rf = loaded.get(i);
                    long batch = store.beginBatch("record file " + files.get(i).getFileName());
                    store.insertChunk(batch, stored.get(i), List.of(rf.recordId()), writer);
                    store.finishBatch(batch, 1, writer);
                    imported.add(rf.recordId());
                    bytes += stored.get(i).length;
                }
                committed = true;
            } finally {
                if (!committed) {
                    store.rollback();
                }
            }
            int n = loaded.size();
            return new ImportResult(vaultFile, imported, store.stats().records(), store.digest(),
                    (System.nanoTime() - start) / 1e9, verifySeconds / n, sanitizeSeconds / n, pbs / n, (double) bytes / n);
        }
    }

    private static void refusing(Path file, RecordFile rf, Runnable check) {
        try {
            check.run();
        } catch (MedVaultException e) {
            throw new UserException(file + " (record '" + rf.recordId() + "') refused, nothing was imported: " + e.getMessage());
        }
    }

    private static String listed(List<String> problems) {
        StringBuilder sb = new StringBuilder();
        problems.stream().limit(MAX_LISTED_ERRORS).forEach(p -> sb.append("\n  ").append(p));
        if (problems.size() > MAX_LISTED_ERRORS) {
            sb.append("\n  … and ").append(problems.size() - MAX_LISTED_ERRORS).append(" more");
        }
        return sb.toString();
    }

    public record WithdrawResult(Path vault, String recordId, boolean ciphertextDeleted, long vaultRecords, String vaultDigest) {}

    public WithdrawResult withdraw(Path vaultFile, String recordId) {
        return withdraw(vaultFile, recordId, null);
    }

    /** As above; the vault state it leaves is signed by {@code writer} (required by a threshold vault). */
    public WithdrawResult withdraw(Path vaultFile, String recordId, Identity writer) {
        try (VaultStore.WriteLock lock = VaultStore.lockForWriting(vaultFile, DEFAULT_WAIT, progress);
             VaultStore store = VaultStore.open(vaultFile)) {
            store.checkWriter(writer);
            boolean gone = store.withdraw(recordId, writer);
            return new WithdrawResult(vaultFile, recordId, gone, store.stats().records(), store.digest());
        }
    }

    // ------------------------------------------------------------------ info

    public record ReenrolResult(Path vault, String recordId, String withdrawn) {}

    /**
     * Lets a withdrawn record's id be stored again (the patient re-enrols): the vault forgets the
     * withdrawal, and the next batch that holds the id stores it. Recorded as a signed vault state
     * when {@code writer} is given (required by a threshold vault).
     */
    public ReenrolResult reenrol(Path vaultFile, String recordId, Identity writer) {
        try (VaultStore.WriteLock lock = VaultStore.lockForWriting(vaultFile, DEFAULT_WAIT, progress);
             VaultStore store = VaultStore.open(vaultFile)) {
            store.checkWriter(writer);
            return new ReenrolResult(vaultFile, recordId, store.reenrol(recordId, writer));
        }
    }

    public record FieldInfo(String name, String type, String encrypted, String square, int blocks, double bytesPerRecord) {}

    public record InfoResult(Path vault, String schema, String schemaSha256, String keyId, String created, int minCohort,
                             long records, long chunks, long batches, long ciphertextBytes, long fileBytes,
                             double bytesPerRecord, List<FieldInfo> fields, String digest, String roster, String provenance) {}

    public InfoResult info(Path vaultFile) {
        try (VaultStore store = VaultStore.open(vaultFile)) {
            VaultSchema schema = store.schema();
            VaultStore.Stats s = store.stats();
            double perRecord = s.records() == 0 ? 0 : (double) s.chunkBytes() / s.records();
            int blocks = schema.blocksPerRecord();
            String digest = store.digest();
            KeySetManifest.Threshold roster = store.roster();
            List<FieldInfo> fields = new ArrayList<>();
            for (FieldSpec f : schema.fields()) {
                fields.add(new FieldInfo(f.name(), f.describe(), f.storedType().name(),
                        f.hasSquare() ? f.squareType().name() : null, f.blocks(), perRecord * f.blocks() / blocks));
            }
            return new InfoResult(vaultFile, schema.name(), schema.digest(), store.keyId(), store.meta("created"),
                    schema.minCohort(), s.records(), s.chunks(), s.batches(), s.chunkBytes(), s.fileBytes(), perRecord,
                    fields, digest, describe(roster, store.keyId()), provenance(store, roster, digest));
        }
    }

    /**
     * For a threshold vault: who signed its chunks and its current state, or why no custodian
     * would release from it; null for a personal key's vault.
     */
    private static String provenance(VaultStore store, KeySetManifest.Threshold roster, String digest) {
        if (roster == null) {
            return null;
        }
        try {
            VaultStore.Provenance p = store.checkWriters(roster.writerKeys());
            VaultStore.SignedState st = store.checkState(digest, roster.writerKeys());
            return p.chunks() + " chunk(s) signed by pinned writer(s) " + String.join(", ", p.chunksByWriter().keySet())
                    + "; state #" + st.seq() + " (" + st.what() + ", " + st.created() + ") signed by " + st.writer();
        } catch (UserException e) {
            return "NOT RELEASABLE: " + e.getMessage();
        }
    }

    // ------------------------------------------------------------------ reading back (tests, personal keys)

    /** Decrypts one record with a whole client key: field name to clear value in its own units. */
    public static Map<String, String> decryptRecord(Path vaultFile, String recordId, ClientKey key) {
        try (VaultStore store = VaultStore.open(vaultFile)) {
            VaultSchema schema = store.schema();
            VaultStore.Chunk chunk = store.chunkOf(recordId);
            int slot = chunk.slots().get(chunk.recordIds().indexOf(recordId));
            int per = schema.recordLayout().size();
            Map<String, String> out = new LinkedHashMap<>();
            try (CompactCiphertextList list = SubmissionKey.isSanitized(chunk.list()) ? null
                    : CompactCiphertextList.deserialize(chunk.list())) {
                List<Ciphertext> cts = list == null ? SubmissionKey.readSanitized(chunk.list()) : list.expand();
                try {
                    int i = slot * per;
                    for (FieldSpec f : schema.fields()) {
                        out.put(f.name(), f.display(key.decryptValue(cts.get(i++))));
                        if (f.hasSquare()) {
                            out.put(f.name() + "^2", Long.toString(key.decryptValue(cts.get(i++))));
                        }
                    }
                } finally {
                    cts.forEach(Ciphertext::close);
                }
            }
            return out;
        }
    }
}
