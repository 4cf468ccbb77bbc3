package org.medvault.app.vault;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.app.Version;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.common.UserException;
import org.medvault.schema.VaultSchema;

/**
 * A vault exported for a cluster: {@code manifest.json} (what the vault digest covers besides the
 * records: schema, key id, pinned roster and server-key digest, plus the digest itself) and
 * {@code chunks/part-NNNNN.parquet}, the live chunks in canonical order (see {@link ParquetChunks}).
 * A reader re-derives the vault digest from the rows and refuses an export whose rows do not
 * give the manifest's digest, so a result computed from an export names the vault it came from.
 */
public final class VaultExport {
    public static final String FORMAT = "medvault-vault-export/1";
    public static final String MANIFEST = "manifest.json";
    public static final String CHUNKS = "chunks";
    /** Chunks per Parquet file unless told otherwise (~64 MB at the usual 256 KB per chunk). */
    public static final int DEFAULT_CHUNKS_PER_FILE = 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    /** What the manifest says. {@code roster}: the pinned roster's JSON, or null (personal key). */
    public record Manifest(String vault, String vaultDigest, String keyId, String schemaJson, String rosterJson,
                           String serverKeySha256, long records, long chunks, List<String> files) {
        public VaultSchema schema(Path dir) {
            return VaultSchema.parse(schemaJson.getBytes(StandardCharsets.UTF_8), dir.resolve(MANIFEST) + " (schema)");
        }

        public KeySetManifest.Threshold roster(Path dir) {
            if (rosterJson == null) {
                return null;
            }
            String where = dir.resolve(MANIFEST) + " (roster)";
            KeySetManifest.Threshold r = KeySetManifest.parseRoster(rosterJson, where);
            r.verify(keyId, where);
            return r;
        }
    }

    public record Summary(Path dir, String vault, long records, long chunks, int files, long bytes, String vaultDigest,
                          double seconds) {}

    /** One live record as the vault digest covers it. */
    public record RecordRef(String id, String chunkSha256, int slot) {}

    private final Progress progress;

    public VaultExport(Progress progress) {
        this.progress = progress;
    }

    /**
     * Writes the export into {@code dir}, which must not exist (or be empty): into a staging
     * directory beside it, renamed into place last, so a failure leaves no half export.
     */
    public Summary export(Path vaultFile, Path dir, int chunksPerFile) {
        if (chunksPerFile < 1) {
            throw UserException.usage("--chunks-per-file must be at least 1, got " + chunksPerFile);
        }
        if (Files.exists(dir) && !isEmptyDir(dir)) {
            throw UserException.usage(dir + " exists and is not empty; export into a new directory");
        }
        long t0 = System.nanoTime();
        Path parent = dir.toAbsolutePath().getParent();
        Path staging;
        try {
            Files.createDirectories(parent);
            staging = Files.createTempDirectory(parent, "." + dir.getFileName() + ".partial-");
            // Public data for every executor's user to read (a temporary directory starts as 0700).
            try {
                Files.setPosixFilePermissions(staging, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            } catch (UnsupportedOperationException notPosix) {
                // the file system's own defaults apply
            }
            Files.createDirectories(staging.resolve(CHUNKS));
        } catch (IOException e) {
            throw new UserException("cannot create " + dir + ": " + AtomicFiles.describe(e), e);
        }
        boolean done = false;
        try (VaultStore store = VaultStore.open(vaultFile)) {
            long records = store.stats().records();
            progress.begin("export", records);
            List<String> files = new ArrayList<>();
            List<ParquetChunks.Row> batch = new ArrayList<>();
            long[] seq = {0};
            long[] recs = {0};
            long[] bytes = {0};
            String createdBy = "MedVault " + Version.get();
            try {
                store.forEachChunk(c -> {
                    batch.add(new ParquetChunks.Row(seq[0]++, org.medvault.common.Digests.sha256(c.list()), c.recordIds(),
                            c.slots(), c.list()));
                    recs[0] += c.slots().size();
                    progress.advance(recs[0]);
                    if (batch.size() == chunksPerFile) {
                        bytes[0] += flush(staging, files, batch, createdBy);
                    }
                });
                if (!batch.isEmpty()) {
                    bytes[0] += flush(staging, files, batch, createdBy);
                }
            } finally {
                progress.end();
            }
            KeySetManifest.Threshold roster = store.roster();
            ObjectNode m = JSON.createObjectNode();
            m.put("format", FORMAT);
            m.put("vault", vaultFile.getFileName().toString());
            m.put("vault_digest", store.digest());
            m.put("key_id", store.keyId());
            m.put("schema", store.meta("schema"));
            m.put("roster", roster == null ? null : store.meta("roster"));
            m.put("server_key_sha256", store.serverKeyDigest());
            m.put("records", recs[0]);
            m.put("chunks", seq[0]);
            m.putPOJO("files", files);
            m.put("created", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
            AtomicFiles.write(staging.resolve(MANIFEST), JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(m), false);
            if (Files.exists(dir)) {
                Files.delete(dir); // empty, checked above
            }
            Files.move(staging, dir, StandardCopyOption.ATOMIC_MOVE);
            done = true;
            return new Summary(dir, vaultFile.getFileName().toString(), recs[0], seq[0], files.size(), bytes[0],
                    m.get("vault_digest").asText(), (System.nanoTime() - t0) / 1e9);
        } catch (IOException e) {
            throw new UserException("cannot write " + dir + ": " + AtomicFiles.describe(e), e);
        } finally {
            if (!done) {
                deleteTree(staging);
            }
        }
    }

    private static long flush(Path staging, List<String> files, List<ParquetChunks.Row> batch, String createdBy) {
        String name = CHUNKS + "/" + String.format(Locale.ROOT, "part-%05d.parquet", files.size());
        Path f = staging.resolve(name);
        try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(f), 1 << 20)) {
            ParquetChunks.write(batch, out, createdBy);
        } catch (IOException e) {
            throw new UserException("cannot write " + f + ": " + AtomicFiles.describe(e), e);
        }
        files.add(name);
        batch.clear();
        try {
            return Files.size(f);
        } catch (IOException e) {
            throw new UserException("cannot read " + f + ": " + AtomicFiles.describe(e), e);
        }
    }

    /** Reads and checks an export's manifest (its rows are checked by whoever reads them). */
    public static Manifest readManifest(Path dir) {
        Path f = dir.resolve(MANIFEST);
        if (!Files.isDirectory(dir)) {
            throw UserException.usage(dir + " is not a vault export directory (make one with 'medvault vault export --parquet')");
        }
        JsonNode m;
        try {
            m = JSON.readTree(AtomicFiles.read(f, "export manifest"));
        } catch (IOException e) {
            throw new UserException(f + " is not valid JSON: " + e.getMessage());
        }
        if (m == null || !FORMAT.equals(m.path("format").asText())) {
            throw new UserException(f + " is not a MedVault vault export manifest (format " + FORMAT + ")");
        }
        List<String> files = new ArrayList<>();
        for (JsonNode n : m.path("files")) {
            String name = n.asText();
            if (!name.matches(CHUNKS + "/part-[0-9]{5,}\\.parquet")) {
                throw new UserException(f + ": files: '" + name + "' is not a chunk file of this export");
            }
            files.add(name);
        }
        for (String field : List.of("vault", "vault_digest", "key_id", "schema", "server_key_sha256")) {
            if (!m.path(field).isTextual()) {
                throw new UserException(f + ": field '" + field + "' is missing");
            }
        }
        if (!m.path("records").canConvertToLong() || !m.path("chunks").canConvertToLong()) {
            throw new UserException(f + ": fields 'records' and 'chunks' must be numbers");
        }
        return new Manifest(m.get("vault").asText(), m.get("vault_digest").asText(), m.get("key_id").asText(),
                m.get("schema").asText(), m.path("roster").isTextual() ? m.get("roster").asText() : null,
                m.get("server_key_sha256").asText(), m.get("records").asLong(), m.get("chunks").asLong(), files);
    }

    /**
     * The vault digest of an export: the manifest's schema, key id and roster with the records of
     * its rows ({@code refs}, any order). Equal to the manifest's digest for an intact export.
     */
    public static String digestOf(Manifest m, Path dir, List<RecordRef> refs) {
        KeySetManifest.Threshold roster = m.roster(dir);
        List<RecordRef> sorted = new ArrayList<>(refs);
        sorted.sort(Comparator.comparing(r -> r.id().getBytes(StandardCharsets.UTF_8), java.util.Arrays::compareUnsigned));
        VaultStore.Digest d = new VaultStore.Digest(m.schema(dir).digest(), m.keyId(), roster == null ? null : roster.digest(m.keyId()));
        sorted.forEach(d::add);
        return d.hex();
    }

    private static boolean isEmptyDir(Path dir) {
        try (var s = Files.list(dir)) {
            return Files.isDirectory(dir) && s.findAny().isEmpty();
        } catch (IOException e) {
            return false;
        }
    }

    private static void deleteTree(Path dir) {
        try (var walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a staging directory is named as such
                }
            });
        } catch (IOException ignored) {
            // nothing staged
        }
    }
}
