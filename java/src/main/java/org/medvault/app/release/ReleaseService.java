package org.medvault.app.release;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import org.medvault.app.AtomicFiles;
import org.medvault.app.Progress;
import org.medvault.app.keys.CustodianShare;
import org.medvault.app.keys.KeySetManifest;
import org.medvault.app.keys.ServerKeyFiles;
import org.medvault.app.keys.SecretKeyFile;
import org.medvault.app.vault.VaultStore;
import org.medvault.common.UserException;
import org.medvault.fhe.FheType;
import org.medvault.fhe.MedVaultException;
import org.medvault.fhe.ServerKey;
import org.medvault.fhe.Threshold;
import org.medvault.query.QueryPlan;
import org.medvault.query.QueryPlanner;
import org.medvault.schema.VaultSchema;

/**
 * Threshold release of a query result, safe against the analyst who asks for it.
 *
 * <p>A partial decryption over ciphertexts someone else chose is an oracle for the secret key (a
 * mask 2^123·e_j decrypts to key coefficient j). So a custodian never decrypts what an analyst
 * hands over: {@link #partial} re-derives the query's outputs from the custodian's own copy of the
 * vault, the query text and the server key by the canonical evaluation, refuses unless they equal
 * the result file's byte for byte, and only then unseals the share and decrypts <em>its own</em>
 * derivation. The partial is signed over the outputs digest, the vault digest, the schema digest,
 * the query and the roster digest. {@link #combine} verifies every partial against a custodian
 * roster pinned when the vault was created (the combiner's vault copy or a trusted key.json),
 * never against keys a result file names.
 */
public final class ReleaseService {
    private final Progress progress;
    private final QueryService queries;

    public ReleaseService() {
        this(Progress.NONE);
    }

    public ReleaseService(Progress progress) {
        this.progress = progress;
        this.queries = new QueryService(progress);
    }

    /**
     * @param deriveSeconds the re-derivation (server key load, query, squash) within {@code seconds}
     */
    public record PartialResult(Path out, int custodian, List<Integer> signers, String keyId, String outputsDigest,
                                String vaultDigest, String query, long records, int minCohort, String roster, int outputs,
                                int blocks, long ledgerBlocks, long ledgerLimit, double seconds, double deriveSeconds) {}

    /**
     * Custodian's partial decryption of {@code resultFile} for {@code signers} (exactly t custodian
     * indices, including the holder of {@code shareFile}), written to {@code out}, or when null to
     * {@code RESULT.partial-<i>.mvp} beside the result. {@code vaultFile} is the custodian's own
     * copy of the vault and {@code serverKeyFile} the key set's server key (with noise squashing):
     * the outputs are re-derived from them before any secret is unsealed, always here: a
     * derivation handed in as a file is bytes someone else could have chosen. The vault's k must
     * not be below the roster's pinned floor, and {@code ledger} (the custodian's count of released
     * blocks, see {@link ReleaseLedger}) must have room for the new blocks.
     */
    public PartialResult partial(Path shareFile, char[] passphrase, Path resultFile, Path vaultFile, Path serverKeyFile,
                                 List<Integer> signers, Path out, ReleaseLedger ledger) {
        long t0 = System.nanoTime();
        ResultFile rf = threshold(AtomicFiles.read(resultFile, "result"), resultFile);
        ResultFile.Header h = rf.header();
        byte[] sealed = AtomicFiles.read(shareFile, "custodian share");
        SecretKeyFile.Header sh = SecretKeyFile.readHeader(sealed, shareFile.toString());
        if (!CustodianShare.KIND.equals(sh.kind()) || sh.custodian() == null) {
            throw new UserException(shareFile + " is a " + sh.kind() + ", not a custodian share");
        }
        if (!sh.keyId().equals(h.keyId())) {
            throw new UserException(shareFile + " is a share of key " + sh.keyId() + "; " + resultFile + " is under key " + h.keyId());
        }
        int me = sh.custodian();

        try (VaultStore store = VaultStore.open(vaultFile)) {
            // 1. What the request names must be what this custodian holds: key, vault, roster.
            if (!store.keyId().equals(h.keyId())) {
                throw new UserException(vaultFile + " is under key " + store.keyId() + "; " + resultFile + " is under key " + h.keyId());
            }
            KeySetManifest.Threshold roster = store.roster();
            if (roster == null) {
                throw new UserException(vaultFile + " pins no custodian roster (it was created without the key set's key.json);"
                        + " threshold releases need one");
            }
            String rosterDigest = roster.digest(store.keyId());
            if (!rosterDigest.equals(sh.roster())) {
                throw new UserException(vaultFile + " pins custodian roster " + QueryService.abbreviate(rosterDigest) + ", but " + shareFile
                        + " was dealt for roster " + QueryService.abbreviate(sh.roster()) + ": the vault names other custodians' keys;"
                        + " refusing (nothing was unsealed)");
            }
            if (h.release() != null && !rosterDigest.equals(h.release().roster())) {
                throw new UserException(resultFile + " names custodian roster " + QueryService.abbreviate(h.release().roster())
                        + "; the vault pins " + QueryService.abbreviate(rosterDigest) + ": refusing a result with swapped custodian keys");
            }
            VaultSchema schema = store.schema();
            String vaultDigest;
            try {
                vaultDigest = store.checkReleasable(roster);
            } catch (UserException e) {
                throw new UserException(e.getMessage() + "; refusing to release from it (nothing was unsealed)", e);
            }
            if (!vaultDigest.equals(h.vaultDigest())) {
                throw new UserException(resultFile + " was computed over a vault with digest " + QueryService.abbreviate(h.vaultDigest())
                        + "; your copy " + vaultFile + " has digest " + QueryService.abbreviate(vaultDigest)
                        + " — get the same vault state before releasing (nothing was unsealed)");
            }
            int n = roster.custodians();
            int t = roster.threshold();
            List<Integer> set = signerSet(signers, n, t, "--signers");
            if (!set.contains(me)) {
                throw UserException.usage("--signers " + join(set) + " does not include custodian " + me + ", the holder of " + shareFile);
            }

            // 2. The request must plan against the vault's own schema, with the plan's shape.
            if (!schema.canonicalJson().equals(h.schema())) {
                throw new UserException(resultFile + " carries another schema than " + vaultFile + "; refusing (nothing was unsealed)");
            }
            long records = store.stats().records();
            QueryPlan plan = QueryPlanner.plan(schema, h.query(), records);
            List<String> types = outputTypes(plan);
            if (!types.equals(h.outputTypes()) || rf.squashed().size() != types.size()) {
                throw new UserException(resultFile + " holds " + h.outputTypes().size() + " outputs " + h.outputTypes()
                        + " and " + rf.squashed().size() + " squashed ones; the query's plan yields " + types.size() + " " + types
                        + ": refusing a result that is not this query's (nothing was unsealed)");
            }

            // 3. Derive the outputs ourselves and compare every byte.
            long d0 = System.nanoTime();
            if (serverKeyFile == null) {
                throw UserException.usage("give --server-key: the result is re-derived from your vault copy before anything is unsealed");
            }
            QueryService.Evaluation ev;
            ServerKeyFiles.Loaded key = queries.loadServerKey(serverKeyFile, store);
            try (ServerKey sk = key.key()) {
                if (!key.squashing()) {
                    throw new UserException(serverKeyFile + " has no noise-squashing key: it is not the threshold key set's server key");
                }
                progress.note("re-deriving the result from " + vaultFile + " (" + records + " records)");
                ev = queries.evaluate(store, records, sk, plan, true, 0);
            }
            double deriveSeconds = (System.nanoTime() - d0) / 1e9;
            String derived = ev.outputsDigest(store.keyId());
            if (!derived.equals(rf.computedOutputsDigest())) {
                throw new UserException(resultFile + "'s ciphertexts are not what '" + h.query() + "' derives from " + vaultFile
                        + " (derived outputs " + QueryService.abbreviate(derived) + ", the file's " + QueryService.abbreviate(rf.computedOutputsDigest())
                        + "): the result was altered or made by other code; refusing to decrypt it (nothing was unsealed)");
            }

            // 4. Only now unseal the share, and decrypt our own derivation.
            CustodianShare share = CustodianShare.open(sealed, passphrase, shareFile.toString());
            try {
                if (share.index() != me || !share.rosterDigest().equals(rosterDigest) || !share.keyId().equals(h.keyId())) {
                    throw new UserException(shareFile + " is corrupt: its sealed contents disagree with its header");
                }
                byte[] s = share.share();
                int[] info;
                try {
                    info = Threshold.shareInfo(s);
                } catch (MedVaultException e) {
                    throw new UserException(shareFile + ": " + e.getMessage());
                }
                if (info[0] != me || info[1] != n || info[2] != t) {
                    throw new UserException(shareFile + " holds custodian " + info[0] + "'s share of a " + info[2] + "-of-" + info[1]
                            + " key; the roster says custodian " + me + " of a " + t + "-of-" + n + " key");
                }
                byte[] nativePartial;
                try {
                    nativePartial = Threshold.partial(s, set.stream().mapToInt(Integer::intValue).toArray(), h.keyId(),
                            ev.squashed(), bits(ev.types()));
                } catch (MedVaultException e) {
                    throw new UserException(resultFile + ": " + e.getMessage());
                }
                List<Integer> blocks = Threshold.partialBlocks(nativePartial);
                Path target = out != null ? out
                        : resultFile.toAbsolutePath().resolveSibling(resultFile.getFileName() + ".partial-" + me + ".mvp");
                // The flooding bound holds per released block: count them before anything leaves (a
                // crash after counting over-counts, never under-counts).
                ReleaseLedger.Entry entry = ledger.record(h.keyId(), ev.squashed(), blocks, h.query());
                PartialFile.Header ph = new PartialFile.Header(h.keyId(), derived, vaultDigest, schema.digest(), h.query(),
                        rosterDigest, me, n, t, set, blocks);
                byte[] unsigned = PartialFile.unsigned(ph, nativePartial);
                AtomicFiles.write(target, PartialFile.withSignature(unsigned, share.sign(unsigned)), false);
                return new PartialResult(target, me, set, h.keyId(), derived, vaultDigest, h.query(), records, schema.minCohort(),
                        roster.fingerprint(store.keyId()), blocks.size(), blocks.stream().mapToInt(Integer::intValue).sum(),
                        entry.totalAfter(), ledger.limit(), (System.nanoTime() - t0) / 1e9, deriveSeconds);
            } finally {
                share.wipe();
            }
        }
    }

    /**
     * Verifies every partial against the pinned custodian roster — from {@code vaultOrNull} (the
     * combiner's copy of the vault, whose digest must be the result's) or {@code keysOrNull} (a key
     * directory or key.json); with both, they must agree — then combines exactly t of them. A
     * roster file proves nothing by itself (anyone can sign a roster of keys they made), so the
     * roster must also match {@code expectedRoster}, the fingerprint published at the ceremony.
     * Each partial must name this result's outputs digest, query, vault and schema, this key and
     * roster, the same n, t and signer set, and carry a valid signature by its custodian's pinned
     * key; the result's k may not be below the roster's floor.
     */
    public QueryService.Released combine(Path resultFile, List<Path> partialFiles, Path vaultOrNull, Path keysOrNull,
                                         String expectedRoster) {
        ResultFile rf = threshold(AtomicFiles.read(resultFile, "result"), resultFile);
        ResultFile.Header h = rf.header();
        String keyId = h.keyId();
        if (expectedRoster == null || expectedRoster.isBlank()) {
            throw UserException.usage("combine needs --roster FINGERPRINT: the custodian roster's fingerprint published at the key"
                    + " ceremony (keys generate and keys info print it); a key.json or vault alone can name any keys");
        }
        Pinned pinned = pinnedRoster(keyId, h.vaultDigest(), vaultOrNull, keysOrNull);
        KeySetManifest.Threshold roster = pinned.roster();
        String rosterDigest = roster.digest(keyId);
        if (!roster.matches(keyId, expectedRoster)) {
            throw new UserException(pinned.source() + " pins custodian roster " + roster.fingerprint(keyId) + ", not the "
                    + expectedRoster + " you expect: these are not the custodians of your ceremony; nothing was released");
        }
        if (h.minCohort() < roster.floor()) {
            throw new UserException(resultFile + " suppresses cohorts under " + h.minCohort() + ", below the roster's floor of "
                    + roster.floor() + ": no honest custodian signs it; nothing was released");
        }
        if (h.release() != null && !rosterDigest.equals(h.release().roster())) {
            throw new UserException(resultFile + " names custodian roster " + QueryService.abbreviate(h.release().roster()) + "; "
                    + pinned.source() + " pins " + QueryService.abbreviate(rosterDigest) + ": refusing a result with swapped custodian keys");
        }
        String outputs = rf.computedOutputsDigest();
        String schemaDigest = VaultSchema.parse(h.schema().getBytes(StandardCharsets.UTF_8), resultFile + " (schema)").digest();
        int t = roster.threshold();

        Map<Integer, Path> seen = new HashMap<>();
        List<Integer> set = null;
        Path setFrom = null;
        List<byte[]> natives = new ArrayList<>();
        for (Path p : partialFiles) {
            PartialFile pf = PartialFile.parse(AtomicFiles.read(p, "partial decryption"), p.toString());
            PartialFile.Header ph = pf.header();
            if (ph.custodian() < 1 || ph.custodian() > roster.custodians()) {
                throw new UserException(p + " claims custodian " + ph.custodian() + "; the roster has custodians 1.." + roster.custodians());
            }
            if (!ph.keyId().equals(keyId)) {
                throw new UserException(p + " is a partial of key " + ph.keyId() + "; " + resultFile + " is under key " + keyId);
            }
            if (!ph.roster().equals(rosterDigest)) {
                throw new UserException(p + " was signed for custodian roster " + QueryService.abbreviate(ph.roster()) + "; " + pinned.source()
                        + " pins " + QueryService.abbreviate(rosterDigest) + ": refusing a release by other custodians' keys");
            }
            if (!ph.outputsDigest().equals(outputs)) {
                throw new UserException(p + " is a partial of other outputs (" + QueryService.abbreviate(ph.outputsDigest()) + "); "
                        + resultFile + " holds " + QueryService.abbreviate(outputs));
            }
            if (!ph.query().equals(h.query()) || !ph.vaultDigest().equals(h.vaultDigest()) || !ph.schema().equals(schemaDigest)) {
                throw new UserException(p + " released '" + ph.query() + "' over vault " + QueryService.abbreviate(ph.vaultDigest())
                        + "; " + resultFile + " says '" + h.query() + "' over vault " + QueryService.abbreviate(h.vaultDigest())
                        + " (or another schema): refusing a relabelled result");
            }
            // Bindings first (the clearer message), then the signature that makes them authentic.
            if (!CustodianShare.verify(roster.member(ph.custodian()).signingKey(), pf.signed(), pf.signature())) {
                throw new UserException(p + ": the signature does not verify against custodian " + ph.custodian()
                        + "'s pinned key; the file was altered or not made by that custodian");
            }
            if (ph.custodians() != roster.custodians() || ph.threshold() != t) {
                throw new UserException(p + " is for a " + ph.threshold() + "-of-" + ph.custodians() + " key; this one is "
                        + t + "-of-" + roster.custodians());
            }
            Path dup = seen.put(ph.custodian(), p);
            if (dup != null) {
                throw new UserException(p + " and " + dup + " are both from custodian " + ph.custodian()
                        + "; each custodian counts once");
            }
            List<Integer> hs = signerSet(ph.signers(), roster.custodians(), t, p + " signer set");
            if (set == null) {
                set = hs;
                setFrom = p;
            } else if (!set.equals(hs)) {
                throw new UserException("mixed signer sets: " + setFrom + " is for custodians " + join(set) + ", " + p
                        + " for " + join(hs) + "; all partials must name the same set");
            }
            natives.add(pf.partial());
        }
        if (natives.size() < t) {
            List<Integer> named = set;
            throw new UserException(natives.size() + " partial decryption(s); this key needs " + t
                    + " — nothing was released" + (named == null ? "" : " (missing: custodians "
                    + join(named.stream().filter(i -> !seen.containsKey(i)).toList()) + ")"));
        }
        long[] values;
        try {
            values = Threshold.combine(rf.squashed(), bits(h.outputTypes()), natives);
        } catch (MedVaultException e) {
            throw new UserException(resultFile + ": cannot combine the partials: " + e.getMessage());
        }
        QueryPlan plan = QueryService.planOf(rf, resultFile);
        return new QueryService.Released(resultFile, h.query(), keyId, h.records(), h.minCohort(), plan.finish(values), set,
                roster.fingerprint(keyId));
    }

    private record Pinned(KeySetManifest.Threshold roster, String source) {}

    private static Pinned pinnedRoster(String keyId, String vaultDigest, Path vaultOrNull, Path keysOrNull) {
        if (vaultOrNull == null && keysOrNull == null) {
            throw UserException.usage("combine needs the custodian roster from a source you trust: --vault (your copy of the"
                    + " vault, which pinned it at creation) or --keys (the key set's key.json)");
        }
        Pinned fromVault = null;
        if (vaultOrNull != null) {
            try (VaultStore store = VaultStore.open(vaultOrNull)) {
                if (!store.keyId().equals(keyId)) {
                    throw new UserException(vaultOrNull + " is under key " + store.keyId() + "; the result is under key " + keyId);
                }
                String digest = store.digest();
                if (!digest.equals(vaultDigest)) {
                    throw new UserException(vaultOrNull + " has digest " + QueryService.abbreviate(digest) + "; the result was computed"
                            + " over vault " + QueryService.abbreviate(vaultDigest) + ": refusing to vouch for it with another vault's roster");
                }
                KeySetManifest.Threshold r = store.roster();
                if (r == null) {
                    throw new UserException(vaultOrNull + " pins no custodian roster (created without the key set's key.json);"
                            + " give --keys");
                }
                fromVault = new Pinned(r, vaultOrNull.toString());
            }
        }
        if (keysOrNull == null) {
            return fromVault;
        }
        Path manifest = Files.isDirectory(keysOrNull) ? keysOrNull.resolve(KeySetManifest.FILE_NAME) : keysOrNull;
        KeySetManifest m = KeySetManifest.parse(AtomicFiles.read(manifest, "key manifest"), manifest.toString());
        if (!m.keyId().equals(keyId)) {
            throw new UserException(manifest + " describes key " + m.keyId() + "; the result is under key " + keyId);
        }
        if (!m.hasThreshold()) {
            throw new UserException(manifest + " is a personal key set, not a threshold one");
        }
        m.threshold().verify(keyId, manifest.toString());
        if (fromVault != null && !fromVault.roster().digest(keyId).equals(m.threshold().digest(keyId))) {
            throw new UserException(vaultOrNull + " and " + manifest + " pin different custodian rosters; refusing to trust either");
        }
        return new Pinned(m.threshold(), manifest.toString());
    }

    private static ResultFile threshold(byte[] bytes, Path file) {
        ResultFile rf = ResultFile.parse(bytes, file.toString());
        if (!rf.header().hasSquashedOutputs()) {
            throw new UserException(file + " was computed with a server key without noise squashing: it is for a personal key"
                    + " (medvault decrypt --key), not for threshold release");
        }
        return rf;
    }

    /** The ciphertext types a plan yields, in order (histograms: one per bucket). */
    static List<String> outputTypes(QueryPlan plan) {
        List<String> types = new ArrayList<>();
        for (QueryPlan.Output o : plan.outputs()) {
            String name = FheType.ofBits(o.bits()).name();
            for (int i = 0; i < o.results(); i++) {
                types.add(name);
            }
        }
        return types;
    }

    private static int[] bits(List<String> types) {
        return types.stream().mapToInt(n -> FheType.ofName(n)
                .orElseThrow(() -> new UserException("unknown output type " + n)).bits()).toArray();
    }

    /** Sorted, distinct, exactly t indices in 1..n. */
    static List<Integer> signerSet(List<Integer> signers, int n, int t, String what) {
        TreeSet<Integer> set = new TreeSet<>(signers);
        if (set.size() != signers.size()) {
            throw UserException.usage(what + " " + join(signers) + " names a custodian twice");
        }
        for (int i : set) {
            if (i < 1 || i > n) {
                throw UserException.usage(what + ": custodian " + i + " outside 1.." + n);
            }
        }
        if (set.size() != t) {
            throw UserException.usage(what + " " + join(signers) + " has " + set.size() + " custodian(s); this key needs exactly " + t);
        }
        return List.copyOf(set);
    }

    private static String join(List<Integer> xs) {
        return String.join(",", xs.stream().map(String::valueOf).toList());
    }
}
