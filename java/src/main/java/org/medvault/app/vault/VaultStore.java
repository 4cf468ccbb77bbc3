package org.medvault.app.vault;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

import org.medvault.app.keys.CustodianShare;
import org.medvault.app.keys.Identity;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.common.Digests;
import org.medvault.common.UserException;
import org.medvault.schema.VaultSchema;

/**
 * The embedded store: one SQLite file holding the schema, the vault's public key and key id, the
 * encrypted chunks (compact ciphertext lists, several records each) and the record index. A batch
 * is one transaction: a crash, {@code kill -9} or a bad row leaves the vault as it was before it.
 */
public final class VaultStore implements AutoCloseable {
    public static final String FORMAT = "medvault-vault/2";

    private final Connection db;
    private final Path file;

    private VaultStore(Connection db, Path file) {
        this.db = db;
        this.file = file;
    }

    private static Connection connect(Path file) throws SQLException {
        return connect(file, true);
    }

    /**
     * @param wal write-ahead logging (every open vault); a vault being created uses a rollback
     *            journal instead, so a full disk fails its commit, not a later checkpoint
     */
    private static Connection connect(Path file, boolean wal) throws SQLException {
        Connection c = DriverManager.getConnection("jdbc:sqlite:" + file.toAbsolutePath());
        try (Statement s = c.createStatement()) {
            s.execute("PRAGMA foreign_keys = ON");
            s.execute("PRAGMA synchronous = FULL");
            s.execute("PRAGMA busy_timeout = 10000");
            // Write-ahead logging: a reader keeps one consistent snapshot for as long as it reads (a
            // query, minutes) without blocking a batch's commit, and a commit never waits for it.
            s.execute(wal ? "PRAGMA journal_mode = WAL" : "PRAGMA journal_mode = DELETE");
        }
        return c;
    }

    /**
     * The vault's write lock (an OS file lock on {@code VAULT-lock}, released by the OS if the
     * process dies): batches, imports and withdrawals take turns, each seeing every earlier one.
     */
    public static final class WriteLock implements AutoCloseable {
        private final java.nio.channels.FileChannel channel;
        private final java.nio.channels.FileLock lock;

        private WriteLock(java.nio.channels.FileChannel channel, java.nio.channels.FileLock lock) {
            this.channel = channel;
            this.lock = lock;
        }

        @Override
        public void close() {
            try {
                lock.release();
            } catch (java.io.IOException ignored) {
                // the OS releases the lock with the channel anyway
            } finally {
                try {
                    channel.close();
                } catch (java.io.IOException ignored) {
                    // nothing more to do
                }
            }
        }
    }

    /** Waits up to {@code wait} for the vault's write lock, saying once that it waits. */
    public static WriteLock lockForWriting(Path vault, java.time.Duration wait, org.medvault.app.Progress progress) {
        if (!Files.isRegularFile(vault)) {
            throw new UserException(vault + ": no such vault (create one with 'medvault vault init')");
        }
        Path lockFile = vault.resolveSibling(vault.getFileName() + "-lock");
        long deadline = System.nanoTime() + wait.toNanos();
        boolean said = false;
        try {
            java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lockFile,
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
            while (true) {
                java.nio.channels.FileLock l = null;
                try {
                    l = ch.tryLock();
                } catch (java.nio.channels.OverlappingFileLockException e) {
                    l = null; // held in this JVM
                }
                if (l != null) {
                    return new WriteLock(ch, l);
                }
                if (System.nanoTime() >= deadline) {
                    ch.close();
                    throw new UserException(vault + " is busy: another process is writing it (waited " + wait.toSeconds()
                            + " s); nothing was stored. Run again when it has finished, or wait longer (--wait SECONDS)");
                }
                if (!said) {
                    progress.note("waiting for another process writing " + vault + " to finish");
                    said = true;
                }
                Thread.sleep(200);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UserException("interrupted while waiting for " + vault + "; nothing was stored");
        } catch (java.io.IOException e) {
            throw new UserException("cannot lock vault " + vault + " for writing: " + org.medvault.app.AtomicFiles.describe(e), e);
        }
    }

    /** Creates a new vault file; refuses to touch an existing one. */
    public static VaultStore create(Path file, VaultSchema schema, byte[] publicKey, String keyId, String serverKeySha256,
                                    KeySetManifest.Threshold roster, byte[] submissionKey, byte[] submissionCrs) {
        if (Files.exists(file)) {
            throw new UserException(file + " already exists; a vault is never overwritten");
        }
        Path tmp = file.resolveSibling("." + file.getFileName() + ".creating");
        try {
            Files.deleteIfExists(tmp);
            try (Connection c = connect(tmp, false)) {
                c.setAutoCommit(false);
                try (Statement s = c.createStatement()) {
                    s.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
                    s.execute("CREATE TABLE public_key (key_id TEXT PRIMARY KEY, bytes BLOB NOT NULL)");
                    s.execute("CREATE TABLE submission (name TEXT PRIMARY KEY, bytes BLOB NOT NULL)");
                    s.execute("CREATE TABLE batches (id INTEGER PRIMARY KEY, source TEXT NOT NULL, records INTEGER NOT NULL,"
                            + " created TEXT NOT NULL)");
                    s.execute("CREATE TABLE chunks (id INTEGER PRIMARY KEY, batch_id INTEGER NOT NULL REFERENCES batches(id),"
                            + " records INTEGER NOT NULL, sha256 TEXT NOT NULL, list BLOB NOT NULL" + SIGNATURE_COLUMNS + ")");
                    s.execute(WITHDRAWN_TABLE);
                    s.execute("CREATE TABLE records (id TEXT PRIMARY KEY, chunk_id INTEGER NOT NULL REFERENCES chunks(id),"
                            + " slot INTEGER NOT NULL, batch_id INTEGER NOT NULL REFERENCES batches(id), UNIQUE (chunk_id, slot))");
                }
                put(c, "format", FORMAT);
                put(c, "schema", schema.canonicalJson());
                put(c, "schema_sha256", schema.digest());
                put(c, "key_id", keyId);
                if (roster != null) {
                    put(c, "roster", KeySetManifest.rosterJson(roster));
                }
                put(c, "created", Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
                try (PreparedStatement p = c.prepareStatement("INSERT INTO public_key VALUES (?, ?)")) {
                    p.setString(1, keyId);
                    p.setBytes(2, publicKey);
                    p.executeUpdate();
                }
                try (PreparedStatement p = c.prepareStatement("INSERT INTO submission VALUES (?, ?), (?, ?)")) {
                    p.setString(1, "public_key");
                    p.setBytes(2, submissionKey);
                    p.setString(3, "crs");
                    p.setBytes(4, submissionCrs);
                    p.executeUpdate();
                }
                put(c, "submission_crs_sha256", Digests.sha256(submissionCrs));
                if (serverKeySha256 != null) {
                    put(c, "server_key_sha256", serverKeySha256);
                }
                c.commit();
            }
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(tmp, java.nio.file.StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, file, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (SQLException | java.io.IOException e) {
            for (String suffix : new String[] {"", "-journal", "-wal", "-shm"}) {
                try {
                    Files.deleteIfExists(tmp.resolveSibling(tmp.getFileName() + suffix));
                } catch (java.io.IOException ignored) {
                    // best effort
                }
            }
            throw new UserException("cannot create vault " + file + ": " + diskMessage(e), e);
        }
        return open(file);
    }

    public static VaultStore open(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new UserException(file + ": no such vault (create one with 'medvault vault init')");
        }
        try {
            Connection c = connect(file);
            VaultStore store = new VaultStore(c, file);
            String format;
            try {
                format = store.meta("format");
            } catch (UserException e) {
                c.close();
                throw new UserException(file + " is not a MedVault vault");
            }
            if (!FORMAT.equals(format)) {
                c.close();
                throw new UserException(file + ": unsupported vault format " + format
                        + ("medvault-vault/1".equals(format) ? " (made before proven submissions, under a key set without a"
                                + " submission key: create a new vault under a new key set and re-encrypt)" : ""));
            }
            store.checkIntact();
            c.setAutoCommit(false);
            return store;
        } catch (SQLException e) {
            if (isDiskProblem(e)) {
                throw new UserException("cannot open vault " + file + ": " + diskMessage(e), e);
            }
            throw new UserException(file + " is not a MedVault vault (" + e.getMessage() + ")", e);
        }
    }

    /** SQLite's way of saying the disk is full or failing (not that the file is not a vault). */
    static boolean isDiskProblem(Exception e) {
        String m = String.valueOf(e.getMessage());
        return m.contains("SQLITE_FULL") || m.contains("SQLITE_IOERR") || m.contains("disk is full")
                || m.contains("No space left") || e instanceof java.nio.file.FileSystemException;
    }

    static String diskMessage(Exception e) {
        return isDiskProblem(e) ? "the disk is full or failing (" + e.getMessage() + "); nothing was changed"
                : String.valueOf(e.getMessage());
    }

    /**
     * What can be checked cheaply on every open: no bytes after SQLite's last page (when no
     * write-ahead log is pending), the stored schema against its digest, and the pinned submission
     * CRS (the bulk of a small vault) against its digest. Chunks are checked when read.
     */
    private void checkIntact() throws SQLException {
        Path wal = file.resolveSibling(file.getFileName() + "-wal");
        try (Statement s = db.createStatement()) {
            long pages;
            long pageSize;
            try (ResultSet r = s.executeQuery("PRAGMA page_count")) {
                pages = r.getLong(1);
            }
            try (ResultSet r = s.executeQuery("PRAGMA page_size")) {
                pageSize = r.getLong(1);
            }
            try {
                long size = Files.size(file);
                boolean walPending = Files.exists(wal) && Files.size(wal) > 0;
                if (!walPending && size > pages * pageSize) {
                    close();
                    throw new UserException(file + " has " + (size - pages * pageSize) + " byte(s) after its last page: a corrupt"
                            + " or padded vault file");
                }
            } catch (java.io.IOException e) {
                close();
                throw new UserException("cannot read vault " + file + ": " + org.medvault.app.AtomicFiles.describe(e), e);
            }
        }
        String schemaJson = meta("schema");
        if (!Digests.sha256(schemaJson.getBytes(StandardCharsets.UTF_8)).equals(meta("schema_sha256"))) {
            close();
            throw new UserException(file + ": the vault's stored schema is corrupt (its digest does not match)");
        }
        try {
            submissionKey(); // checks the CRS digest
        } catch (UserException e) {
            close();
            throw e;
        }
    }

    private static void put(Connection c, String key, String value) throws SQLException {
        try (PreparedStatement p = c.prepareStatement("INSERT OR REPLACE INTO meta VALUES (?, ?)")) {
            p.setString(1, key);
            p.setString(2, value);
            p.executeUpdate();
        }
    }

    public Path file() {
        return file;
    }

    public String meta(String key) {
        try (PreparedStatement p = db.prepareStatement("SELECT value FROM meta WHERE key = ?")) {
            p.setString(1, key);
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    throw new UserException(file + ": vault metadata '" + key + "' is missing");
                }
                return r.getString(1);
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    public VaultSchema schema() {
        return VaultSchema.parse(meta("schema").getBytes(StandardCharsets.UTF_8), file + " (stored schema)");
    }

    public String keyId() {
        return meta("key_id");
    }

    /**
     * The custodian roster pinned when the vault was created from a threshold key set's key.json
     * (signatures verified then and on every read), or null for a personal key's vault.
     */
    public KeySetManifest.Threshold roster() {
        String json;
        try (PreparedStatement p = db.prepareStatement("SELECT value FROM meta WHERE key = 'roster'")) {
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    return null;
                }
                json = r.getString(1);
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
        KeySetManifest.Threshold roster = KeySetManifest.parseRoster(json, file + " (pinned roster)");
        roster.verify(keyId(), file + " (pinned roster)");
        return roster;
    }

    public byte[] publicKey() {
        try (PreparedStatement p = db.prepareStatement("SELECT bytes FROM public_key WHERE key_id = ?")) {
            p.setString(1, keyId());
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    throw new UserException(file + ": the vault's public key is missing");
                }
                return r.getBytes(1);
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    // ---- batches (one transaction each) ----

    public long beginBatch(String source) {
        try (PreparedStatement p = db.prepareStatement("INSERT INTO batches (source, records, created) VALUES (?, 0, ?)",
                Statement.RETURN_GENERATED_KEYS)) {
            p.setString(1, source);
            p.setString(2, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
            p.executeUpdate();
            try (ResultSet k = p.getGeneratedKeys()) {
                k.next();
                return k.getLong(1);
            }
        } catch (SQLException e) {
            throw failure("write", e);
        }
    }

    /**
     * Stores a chunk and its records ({@code ids.get(slot)} in each slot), signed by {@code writer}
     * when given: the signature covers the key id, the schema digest, the chunk's SHA-256 and the
     * record ids by slot ({@link #chunkStatement}), so neither the bytes nor which record sits in
     * which slot can change without a writer's key.
     */
    public long insertChunk(long batch, byte[] list, List<String> ids, Identity writer) {
        String sha = Digests.sha256(list);
        String idsJson = idsJson(ids);
        byte[] signature = writer == null ? null : writer.sign(chunkStatement(keyId(), schema().digest(), sha, idsJson));
        try {
            if (writer != null) {
                addSignatureColumns();
            }
            long chunk;
            try (PreparedStatement p = db.prepareStatement(writer == null
                    ? "INSERT INTO chunks (batch_id, records, sha256, list) VALUES (?, ?, ?, ?)"
                    : "INSERT INTO chunks (batch_id, records, sha256, list, signed_ids, signer, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    Statement.RETURN_GENERATED_KEYS)) {
                p.setLong(1, batch);
                p.setInt(2, ids.size());
                p.setString(3, sha);
                p.setBytes(4, list);
                if (writer != null) {
                    p.setString(5, idsJson);
                    p.setString(6, writer.publicKey());
                    p.setBytes(7, signature);
                }
                p.executeUpdate();
                try (ResultSet k = p.getGeneratedKeys()) {
                    k.next();
                    chunk = k.getLong(1);
                }
            }
            for (int slot = 0; slot < ids.size(); slot++) {
                insertRecord(ids.get(slot), chunk, slot, batch);
            }
            return chunk;
        } catch (SQLException e) {
            throw failure("write", e);
        }
    }

    /** The columns that carry a chunk's writer signature (vaults made before them get them on their next signed write). */
    static final String SIGNATURE_COLUMNS = ", signed_ids TEXT, signer TEXT, signature BLOB";

    private boolean hasSignatureColumns() throws SQLException {
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("PRAGMA table_info(chunks)")) {
            while (r.next()) {
                if ("signature".equals(r.getString("name"))) {
                    return true;
                }
            }
            return false;
        }
    }

    private void addSignatureColumns() throws SQLException {
        if (!hasSignatureColumns()) {
            try (Statement s = db.createStatement()) {
                for (String column : SIGNATURE_COLUMNS.substring(2).split(", ")) {
                    s.execute("ALTER TABLE chunks ADD COLUMN " + column);
                }
            }
        }
    }

    /** The table of writer-signed vault states (vaults made before it get it on their next signed write). */
    static final String STATES_TABLE = "CREATE TABLE IF NOT EXISTS states (seq INTEGER PRIMARY KEY, digest TEXT NOT NULL,"
            + " records INTEGER NOT NULL, what TEXT NOT NULL, created TEXT NOT NULL, signer TEXT NOT NULL, signature BLOB NOT NULL)";

    /** What a writer signs for one vault state: the vault digest after a write (see {@link #digest}). */
    public static byte[] stateStatement(String keyId, String digest, long records, long seq) {
        return ("medvault-vault-state/1\n" + keyId + "\n" + digest + "\n" + records + " records\n" + seq + "\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Inside the current write's transaction: signs the vault state it leaves (its digest, over
     * every live record's id, chunk digest and slot) with {@code writer}, so that a copy with any
     * record added, removed or moved by someone else has a digest no writer signed.
     */
    private void signState(Identity writer, String what) throws SQLException {
        if (writer == null) {
            return;
        }
        try (Statement s = db.createStatement()) {
            s.execute(STATES_TABLE);
        }
        long seq;
        try (Statement s = db.createStatement(); ResultSet r = s.executeQuery("SELECT coalesce(max(seq), 0) + 1 FROM states")) {
            seq = r.getLong(1);
        }
        String digest = digest();
        long records = stats().records();
        try (PreparedStatement p = db.prepareStatement("INSERT INTO states VALUES (?, ?, ?, ?, ?, ?, ?)")) {
            p.setLong(1, seq);
            p.setString(2, digest);
            p.setLong(3, records);
            p.setString(4, what);
            p.setString(5, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
            p.setString(6, writer.publicKey());
            p.setBytes(7, writer.sign(stateStatement(keyId(), digest, records, seq)));
            p.executeUpdate();
        }
    }

    /** The writer-signed state a vault copy is in: when and by whom it was signed. */
    public record SignedState(long seq, String digest, long records, String what, String created, String writer) {}

    /**
     * The state a pinned writer signed for this copy's current digest ({@code digest}, computed by
     * the caller), or an error when none did: records were added, removed or moved by someone who
     * is not a writer (or the vault was written before states were signed).
     */
    public SignedState checkState(String digest, List<String> writerKeys) {
        String keyId = keyId();
        long records = stats().records();
        try {
            boolean any = false;
            try (Statement s = db.createStatement();
                 ResultSet t = s.executeQuery("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'states'")) {
                any = t.next();
            }
            if (any) {
                try (PreparedStatement p = db.prepareStatement("SELECT seq, records, what, created, signer, signature FROM states"
                        + " WHERE digest = ? ORDER BY seq DESC")) {
                    p.setString(1, digest);
                    try (ResultSet r = p.executeQuery()) {
                        while (r.next()) {
                            String signer = r.getString(5);
                            if (r.getLong(2) == records && writerKeys.contains(signer) && CustodianShare.verify(signer,
                                    stateStatement(keyId, digest, records, r.getLong(1)), r.getBytes(6))) {
                                return new SignedState(r.getLong(1), digest, records, r.getString(3), r.getString(4),
                                        Identity.fingerprint(signer));
                            }
                        }
                    }
                }
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
        throw new UserException(file + " is in a state (digest " + digest.substring(0, 16) + "…, " + records + " records) that no"
                + " writer the custodians pinned signed: records were added, removed or moved by someone else");
    }

    /**
     * What makes this copy one a custodian of {@code roster} may derive from, checked before
     * anything costly or secret: k not below the roster's floor, every chunk signed by a writer
     * the roster pins ({@link #checkWriters}), and the copy in a state a pinned writer signed
     * ({@link #checkState}). A ciphertext whose mask someone chose would be bootstrapped by the
     * derivation, and a bootstrap is a decryption. Returns the copy's digest; throws naming the
     * first problem.
     */
    public String checkReleasable(KeySetManifest.Threshold roster) {
        int k = schema().minCohort();
        if (k < roster.floor()) {
            throw new UserException(file + " suppresses cohorts under " + k + ", below the floor of " + roster.floor()
                    + " pinned at the key ceremony (roster " + roster.fingerprint(keyId()) + ")");
        }
        if (roster.writerKeys().isEmpty()) {
            throw new UserException(file + " pins a roster that names no vault writer (a key set made before writers were"
                    + " pinned): nothing says who wrote its ciphertexts");
        }
        checkWriters(roster.writerKeys());
        String digest = digest();
        checkState(digest, roster.writerKeys());
        return digest;
    }

    /** What a writer signs for one chunk. */
    public static byte[] chunkStatement(String keyId, String schemaDigest, String chunkSha256, String idsJson) {
        return ("medvault-chunk/1\n" + keyId + "\n" + schemaDigest + "\n" + chunkSha256 + "\n" + idsJson + "\n")
                .getBytes(StandardCharsets.UTF_8);
    }

    private static String idsJson(List<String> ids) {
        try {
            return IDS_JSON.writeValueAsString(ids);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    private static final com.fasterxml.jackson.databind.ObjectMapper IDS_JSON = new com.fasterxml.jackson.databind.ObjectMapper();

    /** What {@link #checkWriters} found: chunks and live records, all signed by the roster's writers. */
    public record Provenance(long chunks, long records, java.util.Map<String, Long> chunksByWriter) {}

    /**
     * Checks that every chunk holding live records carries a valid signature by one of
     * {@code writerKeys} over its bytes' digest, this vault's key and schema, and the record ids
     * by slot, and that every live record sits in the slot its chunk's writer signed for it.
     * Reads no ciphertext (each chunk's bytes are checked against its digest when a query reads
     * it). Throws naming the first chunk that fails.
     */
    public Provenance checkWriters(List<String> writerKeys) {
        String keyId = keyId();
        String schemaDigest = schema().digest();
        java.util.Map<String, Long> byWriter = new java.util.TreeMap<>();
        long chunks = 0;
        long records = 0;
        try {
            boolean signedColumns = hasSignatureColumns();
            try (Statement s = db.createStatement();
                 ResultSet r = s.executeQuery("SELECT c.id, c.sha256, " + (signedColumns ? "c.signed_ids, c.signer, c.signature"
                         : "NULL, NULL, NULL") + " FROM chunks c WHERE EXISTS (SELECT 1 FROM records r WHERE r.chunk_id = c.id)"
                         + " ORDER BY c.id")) {
                while (r.next()) {
                    long id = r.getLong(1);
                    String idsJson = r.getString(3);
                    String signer = r.getString(4);
                    byte[] sig = r.getBytes(5);
                    if (idsJson == null || signer == null || sig == null) {
                        throw new UserException(file + ": chunk " + id + " (" + describeChunk(id) + ") carries no writer's signature:"
                                + " it was not stored by a writer the custodians pinned");
                    }
                    if (!writerKeys.contains(signer)) {
                        throw new UserException(file + ": chunk " + id + " (" + describeChunk(id) + ") was signed by "
                                + Identity.fingerprint(signer) + ", who is not a writer the custodians pinned");
                    }
                    if (!CustodianShare.verify(signer, chunkStatement(keyId, schemaDigest, r.getString(2), idsJson), sig)) {
                        throw new UserException(file + ": chunk " + id + " (" + describeChunk(id) + "): its writer's signature does not"
                                + " verify: its ciphertexts, digest or record ids were changed after it was stored");
                    }
                    List<String> signedIds;
                    try {
                        signedIds = java.util.Arrays.asList(IDS_JSON.readValue(idsJson, String[].class));
                    } catch (java.io.IOException e) {
                        throw new UserException(file + ": chunk " + id + ": unreadable signed record ids");
                    }
                    try (PreparedStatement p = db.prepareStatement("SELECT id, slot FROM records WHERE chunk_id = ?")) {
                        p.setLong(1, id);
                        try (ResultSet rr = p.executeQuery()) {
                            while (rr.next()) {
                                int slot = rr.getInt(2);
                                if (slot < 0 || slot >= signedIds.size() || !signedIds.get(slot).equals(rr.getString(1))) {
                                    throw new UserException(file + ": record '" + rr.getString(1) + "' sits in slot " + slot + " of chunk "
                                            + id + ", where its writer stored " + (slot >= 0 && slot < signedIds.size()
                                            ? "'" + signedIds.get(slot) + "'" : "no record") + ": records were moved after they were stored");
                                }
                                records++;
                            }
                        }
                    }
                    chunks++;
                    byWriter.merge(Identity.fingerprint(signer), 1L, Long::sum);
                }
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
        return new Provenance(chunks, records, byWriter);
    }

    /** "records a, b, … from batch N (source)" for a chunk, to name it in an error. */
    private String describeChunk(long chunk) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("SELECT r.id, b.source FROM records r JOIN batches b ON b.id = r.batch_id"
                + " WHERE r.chunk_id = ? ORDER BY r.slot LIMIT 3")) {
            p.setLong(1, chunk);
            List<String> ids = new ArrayList<>();
            String source = null;
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    ids.add(r.getString(1));
                    source = r.getString(2);
                }
            }
            return "records " + String.join(", ", ids) + (ids.size() == 3 ? ", …" : "") + (source == null ? "" : " from " + source);
        }
    }

    private void insertRecord(String id, long chunk, int slot, long batch) throws SQLException {
        try (PreparedStatement p = db.prepareStatement("INSERT INTO records (id, chunk_id, slot, batch_id) VALUES (?, ?, ?, ?)")) {
            p.setString(1, id);
            p.setLong(2, chunk);
            p.setInt(3, slot);
            p.setLong(4, batch);
            p.executeUpdate();
        }
    }

    /**
     * Refuses a write to a vault whose roster names writers unless {@code writer} is one of them
     * (before any work). A personal key's vault (no roster) takes unsigned chunks, or signed ones.
     */
    public void checkWriter(Identity writer) {
        KeySetManifest.Threshold roster = roster();
        if (roster == null) {
            return;
        }
        List<String> writers = roster.writerKeys();
        if (writers.isEmpty()) {
            throw new UserException(file + " pins a custodian roster that names no vault writer (made before writers were"
                    + " pinned): custodians will not release from it; hold a new key ceremony with --writer");
        }
        if (writer == null) {
            throw UserException.usage(file + " takes only chunks signed by a writer its custodians pinned ("
                    + String.join(", ", writers.stream().map(Identity::fingerprint).toList()) + "): give --identity NAME.id");
        }
        if (!writers.contains(writer.publicKey())) {
            throw new UserException("identity " + writer.name() + " (" + writer.fingerprint() + ") is not a writer of " + file
                    + "; its custodians pinned " + String.join(", ", writers.stream().map(Identity::fingerprint).toList())
                    + "; nothing was stored");
        }
    }

    /** Completes a batch and commits it, with the new vault state signed by {@code writer} (when given). */
    public void finishBatch(long batch, long records, Identity writer) {
        try (PreparedStatement p = db.prepareStatement("UPDATE batches SET records = ? WHERE id = ?")) {
            p.setLong(1, records);
            p.setLong(2, batch);
            p.executeUpdate();
            signState(writer, "batch " + batch + ": " + records + " record(s)");
            db.commit();
        } catch (SQLException e) {
            rollback();
            throw failure("commit", e);
        }
    }

    public void rollback() {
        try {
            db.rollback();
        } catch (SQLException ignored) {
            // the connection is closing anyway; SQLite rolls back an open transaction on close
        }
    }

    /** The SHA-256 of the key set's server.key, pinned from key.json at creation (null if none was there). */
    public String serverKeyDigest() {
        try (PreparedStatement p = db.prepareStatement("SELECT value FROM meta WHERE key = 'server_key_sha256'")) {
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? r.getString(1) : null;
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    /** The submission public key and CRS pinned at creation: {public key, CRS}. */
    public byte[][] submissionKey() {
        byte[][] out = new byte[2][];
        try (PreparedStatement p = db.prepareStatement("SELECT name, bytes FROM submission")) {
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    out["crs".equals(r.getString(1)) ? 1 : 0] = r.getBytes(2);
                }
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
        if (out[0] == null || out[1] == null) {
            throw new UserException(file + ": the vault's submission key is missing");
        }
        if (!Digests.sha256(out[1]).equals(meta("submission_crs_sha256"))) {
            throw new UserException(file + ": the vault's submission CRS is corrupt (its digest does not match)");
        }
        return out;
    }

    /** Where a record came from: its batch's source and time, or null when the id is not in the vault. */
    public String sourceOf(String id) {
        try (PreparedStatement p = db.prepareStatement(
                "SELECT b.id, b.source, b.created FROM records r JOIN batches b ON b.id = r.batch_id WHERE r.id = ?")) {
            p.setString(1, id);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? "batch " + r.getLong(1) + " (" + r.getString(2) + ", " + r.getString(3) + ")" : null;
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    /** The source a record's batch was stored from, or null when the id is not in the vault. */
    public String batchSourceOf(String id) {
        try (PreparedStatement p = db.prepareStatement(
                "SELECT b.source FROM records r JOIN batches b ON b.id = r.batch_id WHERE r.id = ?")) {
            p.setString(1, id);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? r.getString(1) : null;
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    public boolean hasRecord(String id) {
        try (PreparedStatement p = db.prepareStatement("SELECT 1 FROM records WHERE id = ?")) {
            p.setString(1, id);
            try (ResultSet r = p.executeQuery()) {
                return r.next();
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    /**
     * Removes a record from the vault. Its chunk is deleted too once no live record uses it (a
     * patient's own record is always alone in its chunk, so its ciphertext is gone entirely).
     *
     * @return whether the chunk holding it was deleted as well
     */
    public boolean withdraw(String id, Identity writer) {
        try {
            long chunk;
            try (PreparedStatement p = db.prepareStatement("SELECT chunk_id FROM records WHERE id = ?")) {
                p.setString(1, id);
                try (ResultSet r = p.executeQuery()) {
                    if (!r.next()) {
                        throw new UserException(file + ": no record with id '" + id + "'");
                    }
                    chunk = r.getLong(1);
                }
            }
            try (PreparedStatement p = db.prepareStatement("DELETE FROM records WHERE id = ?")) {
                p.setString(1, id);
                p.executeUpdate();
            }
            try (Statement s = db.createStatement()) {
                s.execute(WITHDRAWN_TABLE);
            }
            try (PreparedStatement p = db.prepareStatement("INSERT OR REPLACE INTO withdrawn (id, withdrawn) VALUES (?, ?)")) {
                p.setString(1, id);
                p.setString(2, Instant.now().truncatedTo(ChronoUnit.SECONDS).toString());
                p.executeUpdate();
            }
            boolean chunkGone = false;
            try (PreparedStatement p = db.prepareStatement(
                    "DELETE FROM chunks WHERE id = ? AND NOT EXISTS (SELECT 1 FROM records WHERE chunk_id = ?)")) {
                p.setLong(1, chunk);
                p.setLong(2, chunk);
                chunkGone = p.executeUpdate() > 0;
            }
            signState(writer, "withdrew " + id);
            db.commit();
            if (chunkGone) {
                try (Statement s = db.createStatement()) {
                    db.setAutoCommit(true);
                    s.execute("VACUUM"); // really drop the deleted ciphertext bytes from the file
                    s.execute("PRAGMA wal_checkpoint(TRUNCATE)"); // … and from the write-ahead log
                } finally {
                    db.setAutoCommit(false);
                }
            }
            return chunkGone;
        } catch (SQLException e) {
            rollback();
            throw failure("withdraw from", e);
        }
    }

    /**
     * Ids withdrawn from the vault, remembered without their values so a later batch that holds one
     * does not bring the patient back (vaults made before it get the table on their next withdrawal).
     */
    static final String WITHDRAWN_TABLE = "CREATE TABLE IF NOT EXISTS withdrawn (id TEXT PRIMARY KEY, withdrawn TEXT NOT NULL)";

    /** When {@code id} was withdrawn (and not re-enrolled since), or null. */
    public String withdrawnAt(String id) {
        try (PreparedStatement p = db.prepareStatement("SELECT withdrawn FROM withdrawn WHERE id = ?")) {
            p.setString(1, id);
            try (ResultSet r = p.executeQuery()) {
                return r.next() ? r.getString(1) : null;
            }
        } catch (SQLException e) {
            if (String.valueOf(e.getMessage()).contains("no such table")) {
                return null; // a vault from before withdrawals were remembered
            }
            throw failure("read", e);
        }
    }

    /** Forgets a withdrawal (the patient re-enrols); returns when it was withdrawn. */
    public String reenrol(String id, Identity writer) {
        String at = withdrawnAt(id);
        if (at == null) {
            throw new UserException(file + ": record '" + id + "' was not withdrawn" + (hasRecord(id) ? " (it is in the vault)" : ""));
        }
        try {
            try (PreparedStatement p = db.prepareStatement("DELETE FROM withdrawn WHERE id = ?")) {
                p.setString(1, id);
                p.executeUpdate();
            }
            signState(writer, "re-enrolled " + id);
            db.commit();
            return at;
        } catch (SQLException e) {
            rollback();
            throw failure("write", e);
        }
    }

    // ---- reading ----

    public record Stats(long records, long chunks, long chunkBytes, long batches, long fileBytes) {}

    public Stats stats() {
        try (Statement s = db.createStatement();
             ResultSet r = s.executeQuery("SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM chunks),"
                     + " (SELECT coalesce(sum(length(list)), 0) FROM chunks), (SELECT count(*) FROM batches)")) {
            r.next();
            return new Stats(r.getLong(1), r.getLong(2), r.getLong(3), r.getLong(4), Files.size(file));
        } catch (SQLException | java.io.IOException e) {
            throw new UserException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A chunk with the slots of its live records. */
    public record Chunk(long id, byte[] list, List<String> recordIds, List<Integer> slots) {}

    /**
     * Every chunk that holds live records, loaded one at a time, in the vault's canonical order:
     * by the chunk's digest (then id, for identical chunks). The order depends only on what the
     * vault digest covers, never on insertion order, so every copy of a vault with one digest feeds
     * a query the same chunks in the same order and gets byte-identical outputs.
     */
    public void forEachChunk(java.util.function.Consumer<Chunk> consumer) {
        try {
            List<Long> ids = new ArrayList<>();
            try (Statement s = db.createStatement();
                 ResultSet r = s.executeQuery("SELECT c.id FROM chunks c WHERE EXISTS (SELECT 1 FROM records r WHERE"
                         + " r.chunk_id = c.id) ORDER BY c.sha256, c.id")) {
                while (r.next()) {
                    ids.add(r.getLong(1));
                }
            }
            for (long id : ids) {
                consumer.accept(chunk(id));
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    public Chunk chunkOf(String recordId) {
        try (PreparedStatement p = db.prepareStatement("SELECT chunk_id FROM records WHERE id = ?")) {
            p.setString(1, recordId);
            try (ResultSet r = p.executeQuery()) {
                if (!r.next()) {
                    throw new UserException(file + ": no record with id '" + recordId + "'");
                }
                return chunk(r.getLong(1));
            }
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    private Chunk chunk(long id) throws SQLException {
        byte[] list;
        try (PreparedStatement p = db.prepareStatement("SELECT list, sha256 FROM chunks WHERE id = ?")) {
            p.setLong(1, id);
            try (ResultSet r = p.executeQuery()) {
                r.next();
                list = r.getBytes(1);
                if (!Digests.sha256(list).equals(r.getString(2))) {
                    throw new UserException(file + ": chunk " + id + " is corrupt (its digest does not match)");
                }
            }
        }
        List<String> recs = new ArrayList<>();
        List<Integer> slots = new ArrayList<>();
        try (PreparedStatement p = db.prepareStatement("SELECT id, slot FROM records WHERE chunk_id = ? ORDER BY slot")) {
            p.setLong(1, id);
            try (ResultSet r = p.executeQuery()) {
                while (r.next()) {
                    recs.add(r.getString(1));
                    slots.add(r.getInt(2));
                }
            }
        }
        return new Chunk(id, list, recs, slots);
    }

    /**
     * The vault digest: SHA-256 over the digest of the stored schema, the key id, the pinned
     * custodian roster's digest (if any) and, for every live record in id order, its id, its
     * chunk's digest and its slot. Any change to what a query reads or a release is checked
     * against changes it.
     */
    public String digest() {
        try {
            KeySetManifest.Threshold roster = roster();
            Digest d = new Digest(schema().digest(), keyId(), roster == null ? null : roster.digest(keyId()));
            try (Statement s = db.createStatement();
                 ResultSet r = s.executeQuery("SELECT r.id, c.sha256, r.slot FROM records r JOIN chunks c ON c.id = r.chunk_id"
                         + " ORDER BY r.id")) {
                while (r.next()) {
                    d.add(new VaultExport.RecordRef(r.getString(1), r.getString(2), r.getInt(3)));
                }
            }
            return d.hex();
        } catch (SQLException e) {
            throw failure("read", e);
        }
    }

    /**
     * The vault digest of its parts, fed record by record in id order (SQLite's: UTF-8 bytes) so
     * no list of a million records is held. A vault export's reader re-derives it from its rows.
     */
    public static final class Digest {
        private final MessageDigest md = Digests.newSha256();

        public Digest(String schemaDigest, String keyId, String rosterDigest) {
            md.update("medvault-vault-digest-v2\n".getBytes(StandardCharsets.UTF_8));
            md.update((schemaDigest + "\n" + keyId + "\n" + (rosterDigest == null ? "-" : rosterDigest) + "\n")
                    .getBytes(StandardCharsets.UTF_8));
        }

        public void add(VaultExport.RecordRef r) {
            md.update((r.id() + "\0" + r.chunkSha256() + "\0" + r.slot() + "\n").getBytes(StandardCharsets.UTF_8));
        }

        public String hex() {
            return HexFormat.of().formatHex(md.digest());
        }
    }

    private UserException failure(String what, SQLException e) {
        return new UserException("cannot " + what + " vault " + file + ": " + diskMessage(e), e);
    }

    @Override
    public void close() {
        try {
            if (!db.getAutoCommit()) {
                db.rollback();
            }
        } catch (SQLException ignored) {
            // a failed rollback (a full disk, say): SQLite rolls back on close or on the next open
        } finally {
            try {
                db.close(); // always: a leaked connection would hold the file (and its -wal) open
            } catch (SQLException ignored) {
                // closing: nothing more to do
            }
        }
    }
}
