package org.medvault.app.release;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.medvault.app.AtomicFiles;
import org.medvault.common.Digests;
import org.medvault.common.UserException;

/**
 * A custodian's count of the squashed blocks it has partially decrypted under one key, and the
 * refusal past a limit.
 *
 * <p>Why: a partial decryption hides the squashed ciphertext's noise e (|e| ≤ 2^70) under
 * flooding noise that t−1 colluding custodians do not know: at least one piece's noise, the sum of
 * two uniforms on [−2^110, 2^110). The statistical distance between that sum and the same sum
 * shifted by e is at most |e| / 2^111 ≤ 2^−41 per released block, and it adds up over blocks. The
 * flooding is deterministic per ciphertext (a PRF of the share, the key id and the block), so
 * releasing the same ciphertext again reveals nothing new: only <em>distinct</em> ciphertexts
 * count. With the default limit of 2^20 distinct blocks per key the total stays under 2^−21,
 * whatever the other custodians do. (docs/security.md derives the bound.)
 *
 * <p>The ledger is a text file the custodian keeps (by default beside the share): a header naming
 * the key, then one line per released ciphertext: SHA-256, blocks, time, query. It is counted
 * before the partial is written, so a crash over-counts and never under-counts.
 */
public final class ReleaseLedger {
    /** Distinct squashed blocks one custodian releases under one key, at most (SD ≤ 2^20 · 2^−41). */
    public static final long DEFAULT_LIMIT = 1L << 20;
    static final String MAGIC = "medvault-release-ledger/1";

    private final Path file;
    private final long limit;

    /** The ledger in {@code file} (created on first release), refusing past {@code limit} blocks (≤ the default). */
    public ReleaseLedger(Path file, long limit) {
        if (limit < 1 || limit > DEFAULT_LIMIT) {
            throw UserException.usage("--max-released-blocks " + limit + ": must be between 1 and " + DEFAULT_LIMIT
                    + " (the flooding bound's limit; a custodian may only lower it)");
        }
        this.file = file;
        this.limit = limit;
    }

    /** The default place for a share's ledger: {@code <share>.ledger} beside it. */
    public static Path besideShare(Path shareFile) {
        return shareFile.toAbsolutePath().resolveSibling(shareFile.getFileName() + ".ledger");
    }

    public long limit() {
        return limit;
    }

    public Path file() {
        return file;
    }

    /** What a release adds: its new lines, and the ledger's total after it. */
    public record Entry(String keyId, List<String> newLines, long totalAfter) {}

    /** Released blocks so far under {@code keyId}, by ciphertext digest (empty when there is no ledger yet). */
    Map<String, Long> released(String keyId) {
        Map<String, Long> seen = new LinkedHashMap<>();
        if (!Files.exists(file)) {
            return seen;
        }
        String text = new String(AtomicFiles.read(file, "release ledger"), StandardCharsets.UTF_8);
        String[] lines = text.split("\n", -1);
        if (lines.length < 2 || !lines[0].equals(MAGIC + " " + keyId) || !lines[lines.length - 1].isEmpty()) {
            throw new UserException(file + " is not the release ledger of key " + keyId
                    + " (or it is damaged); refusing to release without knowing what was released before");
        }
        for (int i = 1; i < lines.length - 1; i++) {
            String[] f = lines[i].split(" ", 4);
            if (f.length < 3 || !f[0].matches("[0-9a-f]{64}") || !f[1].matches("[1-9][0-9]{0,6}")) {
                throw new UserException(file + " line " + (i + 1) + " is damaged; refusing to release without knowing what"
                        + " was released before");
            }
            seen.putIfAbsent(f[0], Long.parseLong(f[1]));
        }
        return seen;
    }

    /**
     * Counts the release of {@code squashed} ({@code blocks[i]} blocks each) under {@code keyId}, or
     * refuses (writing nothing) when the distinct blocks would pass the limit. Check and append run
     * under an exclusive lock on {@code LEDGER.lock}, so two partials made at once by the same
     * custodian cannot both pass a check that only one of them fits.
     */
    public Entry record(String keyId, List<byte[]> squashed, List<Integer> blocks, String query) {
        Path lockFile = file.resolveSibling(file.getFileName() + ".lock");
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(lockFile,
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
             java.nio.channels.FileLock lock = ch.lock()) {
            Entry e = admit(keyId, squashed, blocks, query);
            commit(e);
            return e;
        } catch (java.io.IOException e) {
            throw new UserException("cannot lock the release ledger " + file + ": " + AtomicFiles.describe(e), e);
        }
    }

    /** Admits a release, or refuses when the distinct blocks would pass the limit; writes nothing. */
    Entry admit(String keyId, List<byte[]> squashed, List<Integer> blocks, String query) {
        if (squashed.size() != blocks.size()) {
            throw new IllegalStateException("ledger: " + squashed.size() + " ciphertexts, " + blocks.size() + " block counts");
        }
        Map<String, Long> seen = released(keyId);
        long total = seen.values().stream().mapToLong(Long::longValue).sum();
        String when = Instant.now().truncatedTo(ChronoUnit.SECONDS).toString();
        String what = query.replace('\n', ' ').replace('\r', ' ');
        List<String> lines = new ArrayList<>();
        long added = 0;
        for (int i = 0; i < squashed.size(); i++) {
            String d = Digests.sha256(squashed.get(i));
            if (seen.putIfAbsent(d, (long) blocks.get(i)) == null) {
                added += blocks.get(i);
                lines.add(d + " " + blocks.get(i) + " " + when + " " + what);
            }
        }
        if (total + added > limit) {
            throw new UserException("this custodian has released " + total + " distinct squashed blocks under key "
                    + QueryService.abbreviate(keyId) + " (" + file + "); this release would add " + added + ", past the limit of "
                    + limit + " that keeps the flooding bound (statistical distance ≤ blocks · 2^-41): refusing (nothing was"
                    + " written). Rotate to a new key set to release more.");
        }
        return new Entry(keyId, lines, total + added);
    }

    /** Appends an admitted release (an atomic replace of the whole file). */
    private void commit(Entry e) {
        if (e.newLines().isEmpty() && Files.exists(file)) {
            return;
        }
        StringBuilder sb = new StringBuilder();
        if (Files.exists(file)) {
            sb.append(new String(AtomicFiles.read(file, "release ledger"), StandardCharsets.UTF_8));
        } else {
            sb.append(MAGIC).append(' ').append(e.keyId()).append('\n');
        }
        e.newLines().forEach(l -> sb.append(l).append('\n'));
        AtomicFiles.write(file, sb.toString().getBytes(StandardCharsets.UTF_8), false);
    }
}
